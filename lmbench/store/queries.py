"""Read-side views over the database: results and samples joined with their model and run, and the one
resolver of model names (first name, alias or fingerprint prefix) every command uses."""

from __future__ import annotations

import pandas as pd

from lmbench.errors import StoreError
from lmbench.store import frames
from lmbench.store.liveness import with_shown_status
from lmbench.store.schema import JSON_COLUMNS
from lmbench.store.store import Store

_RESULTS = """
SELECT m.name AS model, r.model_fingerprint AS fingerprint, m.dtype, res.task, res.metric, res.value, res.stderr,
       res.ci_low, res.ci_high, res.n, res.run_id, r.status, r.started_at,
       json_extract(r.config, '$.task_shots') ->> res.task AS shots, r.pid, r.host, r.updated_at
FROM results res JOIN runs r USING (run_id) JOIN models m ON m.fingerprint = r.model_fingerprint
"""
_SAMPLES = """
SELECT m.name AS model, r.model_fingerprint AS fingerprint, s.*
FROM samples s JOIN runs r USING (run_id) JOIN models m ON m.fingerprint = r.model_fingerprint
"""
_LIVENESS = ["pid", "host", "updated_at"]


def match_models(store: Store, selector: str) -> list[str]:
    """Fingerprints `selector` names, by the first rule that matches any: a full fingerprint, a model's first
    name (two dtypes of one checkpoint share it), an alias (a later name), a fingerprint prefix."""
    rules = [
        ("SELECT fingerprint FROM models WHERE fingerprint = ?", selector),
        ("SELECT fingerprint FROM models WHERE name = ?", selector),
        ("SELECT DISTINCT a.fingerprint FROM model_aliases a JOIN models m USING (fingerprint) WHERE a.alias = ?",
         selector),
        ("SELECT fingerprint FROM models WHERE starts_with(fingerprint, ?)", selector),
    ]
    for sql, param in rules:
        hits = [row[0] for row in store.con.execute(sql + " ORDER BY 1", [param]).fetchall()]
        if hits:
            return hits
    return []


def resolve_model(store: Store, name: str) -> str:
    """A model name, alias or fingerprint prefix -> one fingerprint; the error lists what is known."""
    hits = match_models(store, name)
    if len(hits) == 1:
        return hits[0]
    models = store.query("SELECT fingerprint, name, dtype FROM models ORDER BY name, fingerprint")
    if not hits:
        known = "; ".join(f"{r.name} ({r.fingerprint}, {r.dtype})" for r in models.itertuples()) or "none yet"
        raise StoreError(f"no model {name!r} in {store.path}; known models: {known}")
    dtypes = dict(zip(models["fingerprint"], models["dtype"]))
    choices = ", ".join(f"{fp} ({dtypes[fp]})" for fp in hits)
    raise StoreError(f"model name {name!r} is ambiguous in {store.path}: pass a fingerprint, one of {choices}")


def _filters(store: Store, model: str | None, task: str | None, run: str | None, alias: str) -> tuple[str, list]:
    clauses, params = [], []
    if model:
        hits = match_models(store, model)
        clauses.append(f"r.model_fingerprint IN ({', '.join('?' for _ in hits)})" if hits else "FALSE")
        params += hits
    if task:
        clauses.append(f"{alias}.task = ?")
        params.append(task)
    if run:
        clauses.append("r.run_id LIKE ?")
        params.append(f"{run}%")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def results_frame(store: Store, *, model: str | None = None, task: str | None = None,
                  run: str | None = None) -> pd.DataFrame:
    """Results with model name, dtype, run status (a run nobody works on any more shows 'interrupted'), shots."""
    where, params = _filters(store, model, task, run, "res")
    frame = store.query(_RESULTS + where + " ORDER BY r.started_at, res.task, res.metric", params)
    return with_shown_status(frame).drop(columns=_LIVENESS)


def samples_frame(store: Store, *, model: str | None = None, task: str | None = None,
                  run: str | None = None) -> pd.DataFrame:
    where, params = _filters(store, model, task, run, "s")
    frame = store.query(_SAMPLES + where + " ORDER BY r.started_at, s.task, TRY_CAST(s.doc_id AS BIGINT), s.doc_id",
                        params)
    return frames.decode(frame, JSON_COLUMNS["samples"])


def runs_frame(store: Store, *, model: str | None = None) -> pd.DataFrame:
    """One row per run; a 'running' run whose process is gone (or silent too long elsewhere) shows 'interrupted'."""
    where, params = _filters(store, model, None, None, "r")
    frame = store.query(
        "SELECT r.run_id, m.name AS model, r.model_fingerprint AS fingerprint, m.dtype, r.status, r.started_at, "
        "date_diff('second', r.started_at, r.finished_at) AS seconds, "
        "(SELECT count(*) FROM samples s WHERE s.run_id = r.run_id) AS samples, "
        "(SELECT string_agg(DISTINCT task, ',' ORDER BY task) FROM samples s WHERE s.run_id = r.run_id) AS tasks, "
        "r.command, r.pid, r.host, r.updated_at FROM runs r JOIN models m ON m.fingerprint = r.model_fingerprint"
        + where + " ORDER BY r.started_at", params)
    return with_shown_status(frame).drop(columns=_LIVENESS)


def models_frame(store: Store) -> pd.DataFrame:
    """One row per model: name, aliases, fingerprint, source, kind, dtype, params, parents (with relation)."""
    frame = store.query(
        "SELECT m.name, (SELECT string_agg(a.alias, ', ' ORDER BY a.first_seen, a.alias) FROM model_aliases a "
        "WHERE a.fingerprint = m.fingerprint) AS aliases, m.fingerprint, m.source, m.kind, m.dtype, m.n_params, "
        "(SELECT string_agg(coalesce(p.name, l.parent) || ' (' || left(l.parent, 8) || ', ' || l.relation || ')', "
        "'; ' ORDER BY l.created_at, l.parent) FROM lineage l LEFT JOIN models p ON p.fingerprint = l.parent "
        "WHERE l.child = m.fingerprint) AS parents, m.created_at "
        "FROM models m ORDER BY m.created_at, m.fingerprint")
    return frame


def training_runs_frame(store: Store) -> pd.DataFrame:
    """Training runs, oldest first; one whose process is gone shows 'interrupted' like an evaluation run."""
    return with_shown_status(store.training_runs()).drop(columns=_LIVENESS)


def resolve_run(store: Store, prefix: str) -> str:
    """A run id or unique prefix -> the run id."""
    hits = store.query("SELECT run_id FROM runs WHERE run_id LIKE ? ORDER BY started_at", [f"{prefix}%"])
    if len(hits) != 1:
        what = "no run" if hits.empty else f"{len(hits)} runs"
        raise StoreError(f"{what} matching {prefix!r} in {store.path}; list them with `lmbench runs`")
    return str(hits["run_id"].iloc[0])
