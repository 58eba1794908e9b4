"""Terminal rendering of an evaluation outcome."""

from __future__ import annotations

import math
import sys

from rich.console import Console
from rich.table import Table

from lmbench.cli.safe_text import plain
from lmbench.runner import EvalOutcome


def _fmt(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def print_outcome(outcome: EvalOutcome) -> None:
    table = Table(title=plain(f"{outcome.model_name} ({outcome.fingerprint})"))
    for column in ("task", "metric", "value", "stderr", "n"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for row in outcome.results.itertuples(index=False):
        table.add_row(plain(row.task), plain(row.metric), _fmt(row.value), _fmt(row.stderr), str(row.n))
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    timing = ", ".join(f"{k.removesuffix('_s')} {v:.1f}s" for k, v in outcome.timings.items()
                       if not k.startswith("task_s:"))
    reused = f"; {outcome.reused} answers reused from earlier runs" if outcome.reused else ""
    console.print(plain(f"run {outcome.run_id} recorded in {outcome.db_path} ({timing}{reused})"))
