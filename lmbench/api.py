"""The Python API over a results database: one call, one pandas DataFrame.

    import lmbench.api as lb
    lb.results("lmbench.duckdb", task="pubmedqa")     # every metric of every run, with model names
    lb.samples("lmbench.duckdb", model="SmolLM2-135M-Instruct")
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lmbench.paths import default_db_path
from lmbench.store import Store
from lmbench.store.queries import results_frame, runs_frame, samples_frame


def _open(db: str | Path | None) -> Store:
    return Store(db or default_db_path(), read_only=True)


def results(db: str | Path | None = None, *, model: str | None = None, task: str | None = None,
            run: str | None = None) -> pd.DataFrame:
    """Aggregate results joined with model name, dtype, run status and shots."""
    with _open(db) as store:
        return results_frame(store, model=model, task=task, run=run)


def samples(db: str | Path | None = None, *, model: str | None = None, task: str | None = None,
            run: str | None = None) -> pd.DataFrame:
    """Per-question records (prompt, choices, log-probs, prediction, metrics) with model name."""
    with _open(db) as store:
        return samples_frame(store, model=model, task=task, run=run)


def runs(db: str | Path | None = None, *, model: str | None = None) -> pd.DataFrame:
    """One row per run: model, status, start, duration, sample count, tasks, command."""
    with _open(db) as store:
        return runs_frame(store, model=model)
