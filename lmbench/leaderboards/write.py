"""Write a report folder: README.md (Markdown), index.html (self-contained page) and plots/*.png (a chart per
column, a reward curve per training run shown).

The folder is written under lmbench.outputs' policy: staged, then moved in whole; files of an earlier report
that this one does not write are removed only if lmbench wrote them; foreign files are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lmbench.leaderboards import curves, plots
from lmbench.leaderboards.render_html import render_html
from lmbench.leaderboards.render_markdown import render_markdown
from lmbench.leaderboards.report import Report

MARKDOWN, HTML, PLOTS = "README.md", "index.html", "plots"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "column"


def write_report(report: Report, out: Path, *, inputs: Iterable[str | Path | None] = (),
                 force: bool = False) -> list[Path]:
    """Render every output into `out` (created if needed); return the files written (README, page, charts)."""
    from lmbench.outputs import output_folder

    pngs: dict[str, dict[str, str]] = {}
    svgs: dict[str, list[dict[str, str]]] = {}
    names: list[str] = []
    with output_folder(out, inputs=inputs, force=force) as folder:
        for table in report.tables:
            for column, fig in plots.figures(table):
                name = f"{PLOTS}/{_slug(table.table.id)}-{_slug(column.label)}.png"
                plots.save_png(fig, folder.path(name))
                names.append(name)
                pngs.setdefault(table.table.id, {})[column.label] = name
                svgs.setdefault(table.table.id, []).append({"label": column.label, "svg": plots.svg_text(fig)})
        curve_pngs: dict[str, str] = {}
        curve_svgs: dict[str, str] = {}
        for curve in report.curves:
            fig = curves.figure(curve)
            name = f"{PLOTS}/training-{_slug(curve.recipe)}-{_slug(curve.run_id[:8])}.png"
            plots.save_png(fig, folder.path(name))
            names.append(name)
            curve_pngs[curve.run_id], curve_svgs[curve.run_id] = name, plots.svg_text(fig)
        folder.write_text(MARKDOWN, render_markdown(report, pngs, curve_pngs))
        folder.write_text(HTML, render_html(report, svgs, curve_svgs))
    return [Path(out) / MARKDOWN, Path(out) / HTML] + [Path(out) / n for n in names]
