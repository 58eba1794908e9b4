"""How a number is shown, the same in Markdown and HTML: scaled value, CI, significance mark, provenance text."""

from __future__ import annotations

from typing import Any

from lmbench.leaderboards.database import Cell
from lmbench.leaderboards.report import Report, Row, TableReport
from lmbench.leaderboards.significance import Comparison, NotTested
from lmbench.leaderboards.spec import Column, References, Table

MISSING = "missing"
UP, DOWN = "\u25b2", "\u25bc"  # significantly higher / lower than the base


def number(value: float | None, scale: float, digits: int) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def display(value: float | None, column: Column) -> float | None:
    return None if value is None else value * column.scale


def ci(cell: Cell, column: Column) -> str:
    if cell.ci_low is None or cell.ci_high is None:
        return ""
    return f"[{number(cell.ci_low, column.scale, column.digits)}, {number(cell.ci_high, column.scale, column.digits)}]"


def mark(comparison: Comparison | NotTested | None, column: Column) -> tuple[str, str]:
    """(symbol, 'better'|'worse'|'') for a significant difference from the base, judged by the column's direction."""
    if not isinstance(comparison, Comparison) or not comparison.significant or comparison.diff == 0:
        return "", ""
    higher = comparison.diff > 0
    return (UP if higher else DOWN), ("better" if higher == (column.better == "higher") else "worse")


def comparison_text(comparison: Comparison | NotTested | None, column: Column, base: str | None) -> str:
    if comparison is None:
        return ""
    if isinstance(comparison, NotTested):
        return f"vs {base}: not tested ({comparison.reason})"
    s, d = column.scale, column.digits
    return (f"vs {base}: {comparison.diff * s:+.{d}f} on {comparison.n} matched questions, 95% CI "
            f"[{comparison.ci_low * s:+.{d}f}, {comparison.ci_high * s:+.{d}f}], {comparison.test} "
            f"p={comparison.p_value:.3g}" + (f" (paired bootstrap p={comparison.p_bootstrap:.3g})"
                                             if comparison.test != "paired bootstrap" else "")
            + (" (significant)" if comparison.significant else ""))


def provenance(cell: Cell | None, column: Column, row: Row, report: Report) -> str:
    """Everything behind one number, as plain text (a tooltip, or a line of the provenance table)."""
    if cell is None:
        shots = row.shots if row.shots is not None else column.shots
        return (f"{MISSING}: no finished run of {column.task} with metric {column.metric}"
                + ("" if shots is None else f" at {shots} shots") + " for this model")
    run = report.runs[cell.run_id]
    parts = [f"{column.task} {column.metric} = {cell.value:.6g}",
             f"n={cell.n}" + (f", stderr={cell.stderr:.4g}" if cell.stderr is not None else ""),
             f"95% CI {ci(cell, column)} ({cell.ci_kind})" if cell.ci_kind else "no CI stored",
             f"shots={cell.shots}", f"run {cell.run_id}", f"command: {run['command']}",
             "versions: " + versions(run), f"git {run['git_sha'] or 'unknown'}"]
    text = comparison_text(row.comparisons.get(column.label), column, row.base_label)
    return "; ".join(parts + ([text] if text else []))


def versions(run: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted((run.get("versions") or {}).items()))


def reference_value(value: float | None, refs: References, column: Column) -> float | None:
    """A published value converted to the column's display unit (published / source scale * display scale)."""
    return None if value is None else value / refs.scale * column.scale


def aggregate_column(table: Table) -> Column | None:
    """The aggregate shown like its columns (validation made them share scale and direction)."""
    if table.aggregate is None:
        return None
    first = table.columns[0]
    return Column(task="", metric=table.aggregate.method, label=table.aggregate.label, shots=None,
                  better=first.better, scale=first.scale, digits=first.digits)


def unit_note(table: Table) -> str:
    scales = sorted({c.scale for c in table.columns})
    shown = ("as stored" if scales == [1.0] else
             "; ".join(f"x{s:g}" + (" (percent)" if s == 100 else "") + " for "
                       + ", ".join(c.label for c in table.columns if c.scale == s) for s in scales))
    directions = "; ".join(f"{c.label}: {c.better} is better" for c in table.columns if c.better == "lower")
    refs = [f"{r.source}: as published, in the same unit" if all(c.scale == r.scale for c in table.columns)
            else f"{r.source}: published x{r.scale:g}, converted to the unit shown" for r in table.references]
    return (f"Units: measured values {shown}." + (f" {directions}." if directions else "")
            + (f" Reported rows ({'; '.join(refs)})." if refs else ""))


def shots_text(column: Column) -> str:
    return "latest run, any shots" if column.shots is None else f"{column.shots}-shot"


def lineage(table: TableReport) -> list[tuple[Row, list[Row]]]:
    """(base, [candidates]) pairs, bases in row order: the base -> tuned-candidate view."""
    everything = {r.label: r for r in table.rows + table.bases}
    groups: dict[str, list[Row]] = {}
    for row in table.rows:
        if row.base_label:
            groups.setdefault(row.base_label, []).append(row)
    return [(everything[label], children) for label, children in groups.items()]


def how_made(row: Row, base: Row) -> str:
    """What differs between a candidate and its base, from what the database records."""
    model, parent = row.model, base.model
    if model.kind == "lora":
        return "LoRA adapter"
    if model.fingerprint == parent.fingerprint:
        return f"same weights, {row.shots}-shot" if row.shots is not None else "same weights"
    if model.name == parent.name and model.dtype != parent.dtype:
        return f"{parent.dtype} \u2192 {model.dtype}"
    recipe = model.lineage.get("recipe") if isinstance(model.lineage, dict) else None
    return str(recipe or model.kind)
