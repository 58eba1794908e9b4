"""The Python API over a results database: one call, one pandas DataFrame.

    import lmbench.api as lb
    lb.results("lmbench.duckdb", task="pubmedqa")     # every metric of every run, with model names
    lb.samples("lmbench.duckdb", model="SmolLM2-135M-Instruct")
    lb.models("lmbench.duckdb")                       # names, aliases, fingerprints, parents
    lb.lineage("lmbench.duckdb", "my-sft-checkpoint")  # every edge up to the roots

A model is named by its first name, any later name (alias) or a fingerprint prefix.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lmbench.paths import default_db_path
from lmbench.store import Store
from lmbench.store.queries import (
    models_frame, resolve_model, results_frame, runs_frame, samples_frame, training_runs_frame,
)


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
    """One row per run: model, status (a run whose process is gone shows 'interrupted'), start, duration,
    sample count, tasks, command."""
    with _open(db) as store:
        return runs_frame(store, model=model)


def models(db: str | Path | None = None) -> pd.DataFrame:
    """One row per model: name, aliases, fingerprint, source, kind, dtype, n_params, parents (name, relation)."""
    with _open(db) as store:
        return models_frame(store)


def lineage(db: str | Path | None, model: str) -> pd.DataFrame:
    """The ancestry of `model` (name, alias or fingerprint prefix): child, parent, relation, detail, depth
    (1 = direct parent), child_name, parent_name, created_at; empty for a model with no recorded parent."""
    with _open(db) as store:
        return store.ancestry(resolve_model(store, model))


def training_runs(db: str | Path | None = None) -> pd.DataFrame:
    """One row per training run: recipe, base and candidate fingerprints, data hashes, status, timings."""
    with _open(db) as store:
        return training_runs_frame(store)


def train_log(db: str | Path | None, training_run_id: str) -> pd.DataFrame:
    """A training run's step log: step, one column per metric, logged_at."""
    with _open(db) as store:
        return store.train_log(training_run_id)
