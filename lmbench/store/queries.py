"""Read-side views over the database: results and samples joined with their model and run."""

from __future__ import annotations

import pandas as pd

from lmbench.errors import StoreError
from lmbench.store import frames
from lmbench.store.schema import JSON_COLUMNS
from lmbench.store.store import Store

_RESULTS = """
SELECT m.name AS model, r.model_fingerprint AS fingerprint, m.dtype, res.task, res.metric, res.value, res.stderr,
       res.ci_low, res.ci_high, res.n, res.run_id, r.status, r.started_at,
       json_extract(r.config, '$.task_shots') ->> res.task AS shots
FROM results res JOIN runs r USING (run_id) JOIN models m ON m.fingerprint = r.model_fingerprint
"""
_SAMPLES = """
SELECT m.name AS model, r.model_fingerprint AS fingerprint, s.*
FROM samples s JOIN runs r USING (run_id) JOIN models m ON m.fingerprint = r.model_fingerprint
"""


def _filters(model: str | None, task: str | None, run: str | None, alias: str) -> tuple[str, list]:
    clauses, params = [], []
    if model:
        clauses.append("(m.name = ? OR r.model_fingerprint LIKE ?)")
        params += [model, f"{model}%"]
    if task:
        clauses.append(f"{alias}.task = ?")
        params.append(task)
    if run:
        clauses.append("r.run_id LIKE ?")
        params.append(f"{run}%")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def results_frame(store: Store, *, model: str | None = None, task: str | None = None,
                  run: str | None = None) -> pd.DataFrame:
    where, params = _filters(model, task, run, "res")
    return store.query(_RESULTS + where + " ORDER BY r.started_at, res.task, res.metric", params)


def samples_frame(store: Store, *, model: str | None = None, task: str | None = None,
                  run: str | None = None) -> pd.DataFrame:
    where, params = _filters(model, task, run, "s")
    frame = store.query(_SAMPLES + where + " ORDER BY r.started_at, s.task, TRY_CAST(s.doc_id AS BIGINT), s.doc_id",
                        params)
    return frames.decode(frame, JSON_COLUMNS["samples"])


def runs_frame(store: Store, *, model: str | None = None) -> pd.DataFrame:
    where, params = _filters(model, None, None, "r")
    return store.query(
        "SELECT r.run_id, m.name AS model, r.model_fingerprint AS fingerprint, m.dtype, r.status, r.started_at, "
        "date_diff('second', r.started_at, r.finished_at) AS seconds, "
        "(SELECT count(*) FROM samples s WHERE s.run_id = r.run_id) AS samples, "
        "(SELECT string_agg(DISTINCT task, ',' ORDER BY task) FROM samples s WHERE s.run_id = r.run_id) AS tasks, "
        "r.command FROM runs r JOIN models m ON m.fingerprint = r.model_fingerprint" + where +
        " ORDER BY r.started_at", params)


def resolve_model(store: Store, name: str) -> str:
    """A model name or fingerprint prefix -> one fingerprint; the error lists what is known."""
    models = store.query("SELECT fingerprint, name, dtype FROM models ORDER BY name, fingerprint")
    hits = models[(models["name"] == name) | models["fingerprint"].str.startswith(name)]
    known = "; ".join(f"{r.name} ({r.fingerprint}, {r.dtype})" for r in models.itertuples()) or "none yet"
    if hits.empty:
        raise StoreError(f"no model {name!r} in {store.path}; known models: {known}")
    if len(hits) > 1:
        choices = ", ".join(f"{r.fingerprint} ({r.dtype})" for r in hits.itertuples())
        raise StoreError(f"model name {name!r} is ambiguous in {store.path}: pass a fingerprint, one of {choices}")
    return str(hits["fingerprint"].iloc[0])


def resolve_run(store: Store, prefix: str) -> str:
    """A run id or unique prefix -> the run id."""
    hits = store.query("SELECT run_id FROM runs WHERE run_id LIKE ? ORDER BY started_at", [f"{prefix}%"])
    if len(hits) != 1:
        what = "no run" if hits.empty else f"{len(hits)} runs"
        raise StoreError(f"{what} matching {prefix!r} in {store.path}; list them with `lmbench runs`")
    return str(hits["run_id"].iloc[0])
