"""Report -> Markdown: the tables (measured rows, then reported rows apart), charts, lineage, provenance, the
training curves (a PNG and the per-iteration numbers of each run), runs.

Every database-derived string is escaped for Markdown tables (`|`) and for the HTML that Markdown viewers
render (`<`, `>`, `&`); generated answers go in fenced blocks longer than any backtick run they contain.
"""

from __future__ import annotations

import html
import re

from lmbench.leaderboards import curves, present
from lmbench.leaderboards.report import Report, Row, TableReport


def esc(text: object) -> str:
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def fence(text: str) -> str:
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return f"{ticks}text\n{text}\n{ticks}"


def _cell(row: Row, table: TableReport, label: str) -> str:
    column = next(c for c in table.table.columns if c.label == label)
    cell = row.cells[label]
    if cell is None:
        return f"_{present.MISSING}_"
    symbol, _ = present.mark(row.comparisons.get(label), column)
    text = present.number(cell.value, column.scale, column.digits)
    interval = present.ci(cell, column)
    return " ".join(part for part in (text, interval, symbol) if part)


def _table(report: Report, t: TableReport, plots: dict[str, str]) -> list[str]:
    table, agg = t.table, present.aggregate_column(t.table)
    heads = [c.label for c in table.columns] + ([agg.label] if agg else [])
    out = [f"## {esc(table.title)}", ""]
    if table.note:
        out += [esc(table.note), ""]
    out += [esc(present.unit_note(table)) + " Columns: " + "; ".join(
        f"{esc(c.label)} = {esc(c.task)} {esc(c.metric)}" + ("" if c.shots is None else f", {c.shots}-shot")
        for c in table.columns) + ".", ""]
    out += ["| Model | Base | " + " | ".join(esc(h) for h in heads) + " |", "|---|---|" + "---:|" * len(heads)]
    for row in t.rows:
        cells = [_cell(row, t, c.label) for c in table.columns]
        if agg:
            cells.append(present.number(row.average, agg.scale, agg.digits) if row.average is not None
                         else f"_{present.MISSING}_")
        out.append(f"| {esc(row.label)} | {esc(row.base_label or '')} | " + " | ".join(cells) + " |")
    if not t.rows:
        out.append("| _no model has results for these columns yet_ | |" + " |" * len(heads))
    out.append("")
    for refs in table.references:
        out += [f"Reported (not measured here), from {esc(refs.source)}"
                + (f" <{esc(refs.url)}>" if refs.url else "") + ":", "",
                "| Model | " + " | ".join(esc(h) for h in heads) + " | Note |", "|---|" + "---:|" * len(heads) + "---|"]
        for ref in refs.rows:
            values = [present.number(present.reference_value(ref.values.get(c.label), refs, c), 1, c.digits)
                      for c in table.columns + ((agg,) if agg else ())]
            out.append(f"| {esc(ref.label)} | " + " | ".join(values) + f" | {esc(ref.note or '')} |")
        out.append("")
    out += [f"![{esc(c.label)}]({plots[c.label]})" for c in table.columns if c.label in plots] + [""]
    pairs = present.lineage(t)
    if pairs:
        out += ["Lineage (base \u2192 candidates; the marks compare each candidate with its base):", ""]
        for base, children in pairs:
            out.append(f"- {esc(base.label)} `{base.model.fingerprint[:12]}`")
            out += [f"  - \u2192 {esc(c.label)} `{c.model.fingerprint[:12]}` ({esc(present.how_made(c, base))})"
                    for c in children]
        out.append("")
    out += _provenance(report, t) + _examples(t)
    return out


def _provenance(report: Report, t: TableReport) -> list[str]:
    out = ["<details><summary>Provenance of every number in this table</summary>", "",
           "| Model | Column | Shown | Stored | n | 95% CI | Shots | Run | vs base |",
           "|---|---|---:|---:|---:|---|---:|---|---|"]
    for row in t.rows:
        for column in t.table.columns:
            cell = row.cells[column.label]
            if cell is None:
                out.append(f"| {esc(row.label)} | {esc(column.label)} | _{present.MISSING}_ | | | | | | |")
                continue
            text = present.comparison_text(row.comparisons.get(column.label), column, row.base_label)
            out.append(f"| {esc(row.label)} | {esc(column.label)} | "
                       f"{present.number(cell.value, column.scale, column.digits)} | {cell.value:.6g} | {cell.n} | "
                       f"{esc(present.ci(cell, column))} {cell.ci_kind or ''} | {cell.shots} | "
                       f"`{cell.run_id[:12]}` | {esc(text)} |")
    return out + ["", "</details>", ""]


def _examples(t: TableReport) -> list[str]:
    out = []
    for row in t.rows:
        for task, samples in row.examples.items():
            out += [f"<details><summary>{esc(row.label)}: {esc(task)}, first {len(samples)} generated "
                    f"answer{'s' if len(samples) != 1 else ''}</summary>", ""]
            for s in samples:
                prompt = (s["prompt"] or "")[-400:]
                out += [f"Question {esc(s['doc_id'])} (prompt, last 400 characters):", "", fence(prompt), "",
                        "Answer:", "", fence(s["prediction"] or ""), ""]
            out += ["</details>", ""]
    return out


def _curves(report: Report, plots: dict[str, str]) -> list[str]:
    if not report.curves:
        return []
    out = ["## Training curves", "", esc(curves.INTRO), ""]
    for curve in report.curves:
        status = "" if curve.status == "done" else f" ({esc(curve.status)})"
        out += [f"### {esc(', '.join(curve.models))}: {esc(curve.recipe)} run `{esc(curve.run_id)}`{status}", ""]
        if curve.run_id in plots:
            out += [f"![{esc(curves.title(curve))}]({plots[curve.run_id]})", ""]
        out += ["| Iteration | " + " | ".join(esc(s.label) for s in curve.series) + " |",
                "|---:|" + "---:|" * len(curve.series)]
        out += [f"| {step} | " + " | ".join(curves.number(s, s.values[i]) for s in curve.series) + " |"
                for i, step in enumerate(curve.steps)]
        out += ["", f"Command: `{esc(curve.command)}`", ""]
    return out


def _runs(report: Report) -> list[str]:
    out = ["## Runs behind these numbers", "",
           "| Run | Model | Finished | Command | Versions | Git |", "|---|---|---|---|---|---|"]
    for run_id, run in report.runs.items():
        model = run["fingerprint"]
        out.append(f"| `{run_id}` | `{model[:12]}` | {run['finished_at']:%Y-%m-%d %H:%M} UTC | "
                   f"`{esc(run['command'])}` | {esc(present.versions(run))} | `{esc(run['git_sha'] or '')}` |")
    return out + [""]


def render_markdown(report: Report, plots: dict[str, dict[str, str]], curve_plots: dict[str, str] | None = None) -> str:
    """`plots`: table id -> column label -> relative path of its PNG; `curve_plots`: training run id -> PNG."""
    spec = report.spec
    out = [f"# {esc(spec.title)}", ""]
    if spec.description:
        out += [esc(spec.description.strip()), ""]
    out += [f"Generated by `{esc(report.command)}` from `{esc(report.db_path)}` (spec `{esc(spec.origin)}`). "
            f"Measured numbers are the latest finished run per model, task, metric and shots, with their 95% "
            f"confidence interval in brackets (as stored with the result, a percentile bootstrap for a task's score; "
            f"+-1.96 standard errors where only those are stored). "
            f"{present.UP}/{present.DOWN}: significantly higher/lower than the row's base (p < "
            f"{spec.significance.alpha:g}; McNemar's exact test for accuracies, else a paired bootstrap, on the "
            f"questions both runs answered). _{present.MISSING}_: no finished run (not zero).", ""]
    for t in report.tables:
        out += _table(report, t, plots.get(t.table.id, {}))
    out += _curves(report, curve_plots or {}) + _runs(report)
    return "\n".join(out).rstrip() + "\n"
