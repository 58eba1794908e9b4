// Sortable leaderboard tables: click a column header to sort each table body (measured rows, then each block
// of reported rows) by that column; missing numbers stay last in either direction. No data leaves the page.
(function () {
  "use strict";

  function sortKey(cell, kind) {
    if (kind === "text") return cell.textContent.trim().toLowerCase();
    var raw = cell.getAttribute("data-value");
    return raw === null || raw === "" ? null : parseFloat(raw);
  }

  function sortBodies(table, index, kind, direction) {
    Array.prototype.forEach.call(table.tBodies, function (body) {
      var rows = Array.prototype.filter.call(body.rows, function (row) {
        return !row.classList.contains("source");
      });
      rows.sort(function (a, b) {
        var x = sortKey(a.cells[index], kind), y = sortKey(b.cells[index], kind);
        if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
        return (x < y ? -1 : x > y ? 1 : 0) * direction;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (head, index) {
      var button = head.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var kind = head.getAttribute("data-kind");
        var current = head.getAttribute("aria-sort");
        var bestFirst = kind === "text" || head.getAttribute("data-better") === "lower" ? "ascending" : "descending";
        var next = current === bestFirst ? (bestFirst === "ascending" ? "descending" : "ascending") : bestFirst;
        Array.prototype.forEach.call(heads, function (other) { other.setAttribute("aria-sort", "none"); });
        head.setAttribute("aria-sort", next);
        sortBodies(table, index, kind, next === "ascending" ? 1 : -1);
      });
    });
  });
})();
