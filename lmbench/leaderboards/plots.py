"""One bar chart per column: measured rows with 95% CI error bars, reported rows in grey, missing rows named.

Drawn with matplotlib's object API (no pyplot state, no GUI backend), saved as PNG for the Markdown report
and as SVG text (fonts kept as text) inlined in the HTML page. Fixed metadata and id salt keep the files
identical from one run to the next.
"""

from __future__ import annotations

import io
from pathlib import Path

from lmbench.leaderboards import present
from lmbench.leaderboards.report import TableReport
from lmbench.leaderboards.spec import Column

_RC = {"svg.fonttype": "none", "svg.hashsalt": "lmbench-leaderboard", "font.size": 9}
_MEASURED, _BETTER, _WORSE, _REPORTED = "#4e79a7", "#59a14f", "#e15759", "#cfcac6"


def _plain(text: str, width: int = 48) -> str:
    """A label matplotlib draws as given: `$` would start mathtext."""
    text = text if len(text) <= width else text[: width - 1] + "\u2026"
    return text.replace("$", r"\$")


def column_figure(table: TableReport, column: Column):  # -> matplotlib.figure.Figure
    from matplotlib.figure import Figure

    labels, values, errors, colors, notes = [], [], [], [], []
    for row in table.rows:
        cell = row.cells[column.label]
        symbol, verdict = present.mark(row.comparisons.get(column.label), column)
        labels.append(_plain(row.label) + (f" {symbol}" if symbol else ""))
        value = present.display(cell.value, column) if cell else None
        values.append(value or 0.0)
        low = present.display(cell.ci_low, column) if cell and cell.ci_low is not None else None
        high = present.display(cell.ci_high, column) if cell and cell.ci_high is not None else None
        errors.append((value - low, high - value) if value is not None and low is not None and high is not None
                      else None)
        colors.append({"better": _BETTER, "worse": _WORSE}.get(verdict, _MEASURED))
        notes.append(present.MISSING if cell is None else "")
    for refs in table.table.references:
        for ref in refs.rows:
            value = present.reference_value(ref.values.get(column.label), refs, column)
            if value is None:
                continue
            labels.append(_plain(ref.label) + " (reported)")
            values.append(value)
            errors.append(None)
            colors.append(_REPORTED)
            notes.append("")
    fig = Figure(figsize=(5.4, 0.9 + 0.28 * max(len(labels), 1)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=colors, height=0.7)
    with_ci = [(pos, value, err) for pos, value, err in zip(positions, values, errors) if err is not None]
    if with_ci:
        ys, xs, errs = zip(*with_ci)
        ax.errorbar(xs, ys, xerr=list(zip(*errs)), fmt="none", ecolor="#333333", capsize=2, elinewidth=0.8)
    for pos, note in zip(positions, notes):
        if note:
            ax.text(0, pos, f" {note}", va="center", ha="left", color="#777777", style="italic")
    ax.set_yticks(positions, labels)
    unit = "" if column.scale == 1 else f" (x{column.scale:g})"
    arrow = "lower is better" if column.better == "lower" else "higher is better"
    ax.set_xlabel(_plain(f"{column.task} {column.metric}{unit}", 60) + f"\n{arrow}; bars: 95% CI")
    ax.set_title(_plain(column.label + ("" if column.shots is None else f" ({column.shots}-shot)"), 50))
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def save_png(fig, path: Path) -> None:
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig.savefig(path, format="png", metadata={"Software": None})


def svg_text(fig) -> str:
    """The figure as an inline <svg> element (no XML prolog or DOCTYPE)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def figures(table: TableReport) -> list[tuple[Column, object]]:
    import matplotlib

    with matplotlib.rc_context(_RC):
        return [(column, column_figure(table, column)) for column in table.table.columns]


def curve_figure(steps: list[int], series: dict[str, list[float | None]], *, title: str, xlabel: str,
                 ylabel: str):  # -> matplotlib.figure.Figure
    """A line per series over steps (None points skipped): e.g. RAFT's per-iteration rewards from train_log."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.4, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for (label, values), marker in zip(series.items(), "os^Dv"):
        points = [(s, v) for s, v in zip(steps, values) if v is not None]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker=marker, label=_plain(label))
    ax.set_xticks(sorted(set(steps)))
    ax.set(title=_plain(title, 60), xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return fig
