"""Leaderboards: a YAML spec + the results database -> Markdown, a self-contained HTML page and PNG charts.

    from lmbench.leaderboards import build_report, load_spec, write_report
    spec = load_spec("medical")                      # a built-in name or a path to a spec YAML
    with Store("lmbench.duckdb", read_only=True) as store:
        write_report(build_report(store, spec), Path("reports/medical"))

Only reads the database (DESIGN.md): nothing here imports torch or transformers.
"""

from lmbench.leaderboards.report import Report, build_report
from lmbench.leaderboards.spec import Spec, builtin_names, load_spec
from lmbench.leaderboards.write import write_report

__all__ = ["Report", "Spec", "build_report", "builtin_names", "load_spec", "write_report"]
