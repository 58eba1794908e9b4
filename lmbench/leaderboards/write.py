"""Write a report folder: README.md (Markdown), index.html (self-contained page) and plots/*.png."""

from __future__ import annotations

import re
from pathlib import Path

from lmbench.errors import ConfigError
from lmbench.leaderboards import plots
from lmbench.leaderboards.render_html import render_html
from lmbench.leaderboards.render_markdown import render_markdown
from lmbench.leaderboards.report import Report

MARKDOWN, HTML, PLOTS = "README.md", "index.html", "plots"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "column"


def write_report(report: Report, out: Path) -> list[Path]:
    """Render every output into `out` (created if needed); return the files written."""
    try:
        (out / PLOTS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create report folder {out}: {exc}; pass --out with a writable folder") from None
    for stale in (out / PLOTS).glob("*.png"):  # charts of columns a spec no longer has
        stale.unlink()
    written, pngs, svgs = [], {}, {}
    for table in report.tables:
        for column, fig in plots.figures(table):
            name = f"{_slug(table.table.id)}-{_slug(column.label)}.png"
            plots.save_png(fig, out / PLOTS / name)
            written.append(out / PLOTS / name)
            pngs.setdefault(table.table.id, {})[column.label] = f"{PLOTS}/{name}"
            svgs.setdefault(table.table.id, []).append({"label": column.label, "svg": plots.svg_text(fig)})
    (out / MARKDOWN).write_text(render_markdown(report, pngs), encoding="utf-8")
    (out / HTML).write_text(render_html(report, svgs), encoding="utf-8")
    return [out / MARKDOWN, out / HTML] + written
