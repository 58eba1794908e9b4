"""Report -> one self-contained HTML page: inline CSS, JS and SVG charts, nothing fetched at view time.

Jinja2 autoescapes every value; the only unescaped inserts are our own script, matplotlib's SVG (which
escapes its text) and the JSON data block, whose `<`, `>` and `&` are written as \\u escapes so no string in
it can close the script element. A Content-Security-Policy allows no network and only our script (by hash),
so even a mistake in escaping could not run injected code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from lmbench.leaderboards import curves, present
from lmbench.leaderboards.report import Report, Row, TableReport

PAGE = Path(__file__).parent / "page"


def script_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">."""
    text = json.dumps(data, sort_keys=True, default=str, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _finite(value: float | None) -> float | str | None:
    """JSON has no NaN or infinity: write those as text."""
    return value if value is None or math.isfinite(value) else str(value)


def _cell_view(report: Report, t: TableReport, row: Row, label: str) -> dict[str, str]:
    column = next(c for c in t.table.columns if c.label == label)
    cell = row.cells[label]
    title = present.provenance(cell, column, row, report)
    if cell is None:
        return {"text": present.MISSING, "sort": "", "cls": "missing", "title": title, "ci": "", "mark": ""}
    symbol, verdict = present.mark(row.comparisons.get(label), column)
    return {"text": present.number(cell.value, column.scale, column.digits), "sort": repr(cell.value),
            "cls": verdict, "title": title, "ci": present.ci(cell, column), "mark": symbol}


def _table_view(report: Report, t: TableReport, charts: list[dict[str, str]]) -> dict[str, Any]:
    table, agg = t.table, present.aggregate_column(t.table)
    heads = [{"label": c.label, "better": c.better,
              "title": f"{c.task} {c.metric}, {present.shots_text(c)}, {c.better} is better"} for c in table.columns]
    if agg:
        heads.append({"label": agg.label, "better": agg.better, "title": f"{table.aggregate.method} of the columns"})
    rows = []
    for row in t.rows:
        cells = [_cell_view(report, t, row, c.label) for c in table.columns]
        if agg:
            cells.append({"text": present.number(row.average, agg.scale, agg.digits) if row.average is not None
                          else present.MISSING, "sort": "" if row.average is None else repr(row.average),
                          "cls": "" if row.average is not None else "missing", "ci": "", "mark": "",
                          "title": f"{table.aggregate.method} of the columns" if row.average is not None
                          else f"{present.MISSING}: a column is missing"})
        rows.append({"label": row.label, "base": row.base_label or "", "cells": cells,
                     "fingerprint": row.model.fingerprint,
                     "title": f"{row.model.name}, {row.model.dtype}, fingerprint {row.model.fingerprint}, "
                              f"source {row.model.source}"})
    references = []
    for refs in table.references:
        out_rows = []
        for ref in refs.rows:
            values = []
            for column in list(table.columns) + ([agg] if agg else []):
                shown = present.reference_value(ref.values.get(column.label), refs, column)
                values.append({"text": present.number(shown, 1, column.digits) if shown is not None else "",
                               "sort": "" if shown is None else repr(shown / column.scale)})
            out_rows.append({"label": ref.label, "note": ref.note, "numbers": values})
        references.append({"source": refs.source, "url": refs.url, "rows": out_rows})
    lineage = [{"label": base.label, "fingerprint": base.model.fingerprint[:12],
                "children": [{"label": c.label, "fingerprint": c.model.fingerprint[:12],
                              "how": present.how_made(c, base)} for c in children]}
               for base, children in present.lineage(t)]
    provenance = [{"row": row.label, "column": c.label,
                   "text": present.provenance(row.cells[c.label], c, row, report)}
                  for row in t.rows for c in table.columns]
    examples = [{"row": row.label, "task": task,
                 "samples": [{"doc_id": s["doc_id"], "prompt": (s["prompt"] or "")[-400:],
                              "prediction": s["prediction"] or "", "reward": (s["metrics"] or {}).get("reward")}
                             for s in samples]}
                for row in t.rows for task, samples in row.examples.items()]
    return {"id": table.id, "title": table.title, "note": table.note, "units": present.unit_note(table),
            "heads": heads, "rows": rows, "references": references, "charts": charts, "lineage": lineage,
            "provenance": provenance, "examples": examples}


def _curve_view(curve: curves.TrainingCurve, svg: str | None) -> dict[str, Any]:
    return {"id": curve.run_id, "title": curves.title(curve), "models": ", ".join(curve.models),
            "recipe": curve.recipe, "status": curve.status, "command": curve.command, "svg": svg or "",
            "heads": [s.label for s in curve.series],
            "rows": [{"step": step, "numbers": [curves.number(s, s.values[i]) for s in curve.series]}
                     for i, step in enumerate(curve.steps)]}


def report_data(report: Report) -> dict[str, Any]:
    """The numbers on the page, machine-readable (stored units, not scaled)."""
    def cell(c: Any) -> dict[str, Any] | None:
        return None if c is None else {"value": _finite(c.value), "stderr": _finite(c.stderr),
                                       "ci_low": _finite(c.ci_low), "ci_high": _finite(c.ci_high), "n": c.n,
                                       "run_id": c.run_id, "shots": c.shots}
    return {"spec": report.spec.name, "title": report.spec.title, "tables": [
        {"id": t.table.id,
         "columns": [{"label": c.label, "task": c.task, "metric": c.metric, "shots": c.shots, "scale": c.scale,
                      "better": c.better} for c in t.table.columns],
         "rows": [{"label": r.label, "fingerprint": r.model.fingerprint, "model": r.model.name,
                   "dtype": r.model.dtype, "shots": r.shots, "base": r.base_label, "average": _finite(r.average),
                   "cells": {k: cell(v) for k, v in r.cells.items()}} for r in t.rows]}
        for t in report.tables],
        "training_curves": [{"run_id": c.run_id, "recipe": c.recipe, "status": c.status, "models": list(c.models),
                             "steps": list(c.steps), "series": {s.metric: list(s.values) for s in c.series}}
                            for c in report.curves]}


def render_html(report: Report, charts: dict[str, list[dict[str, str]]],
                curve_charts: dict[str, str] | None = None) -> str:
    """`charts`: table id -> [{"label", "svg"}] (inline SVG text); `curve_charts`: training run id -> SVG text."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    js = (PAGE / "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode()
    csp = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    env = Environment(loader=FileSystemLoader(PAGE), autoescape=True, undefined=StrictUndefined)
    runs = [{"run_id": run_id, "model": run["fingerprint"][:12], "finished": f"{run['finished_at']:%Y-%m-%d %H:%M}",
             "command": run["command"], "versions": present.versions(run), "git": run["git_sha"] or ""}
            for run_id, run in report.runs.items()]
    return env.get_template("report.html.j2").render(
        spec=report.spec, report=report, css=(PAGE / "report.css").read_text(encoding="utf-8"), js=js, csp=csp,
        up=present.UP, down=present.DOWN, runs=runs, data_json=script_json(report_data(report)),
        tables=[_table_view(report, t, charts.get(t.table.id, [])) for t in report.tables],
        curves=[_curve_view(c, (curve_charts or {}).get(c.run_id)) for c in report.curves],
        curves_intro=curves.INTRO)
