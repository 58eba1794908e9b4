"""`Store`: the one way lmbench writes and reads its DuckDB results database."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import duckdb
import pandas as pd

from lmbench.errors import StoreError
from lmbench.store import frames
from lmbench.store.db import utcnow
from lmbench.store.lineage import LineageMixin
from lmbench.store.schema import (
    DERIVED_EDGES, FINAL_STATUSES, JSON_COLUMNS, RESULT_COLUMNS, RESULT_UPSERT, SAMPLE_COLUMNS, SAMPLE_UPSERT,
)
from lmbench.store.training import TrainingMixin

_SAMPLE_TEXT = ("task", "task_hash", "doc_id", "doc_hash", "prompt", "target", "prediction")


class Store(LineageMixin, TrainingMixin):
    """A results database file; creates or migrates its schema on open (see `StoreBase`)."""

    def __enter__(self) -> Store:
        return self

    # -- writes --------------------------------------------------------------
    def upsert_model(self, *, fingerprint: str, name: str, source: str, kind: str, revision: str | None, dtype: str,
                     n_params: int | None, base_model: str | None = None, lineage: dict | None = None,
                     identity: dict) -> None:
        """Insert or merge one model. Its first name and `created_at` stay (a new name is recorded as an alias);
        `lineage` keys are merged into what is known (an empty or missing one changes nothing), a known
        base or parameter count is never replaced by None; edges its lineage implies are added."""
        con = self._writable()
        rows = con.execute("SELECT name, lineage FROM models WHERE fingerprint = ?", [fingerprint]).fetchall()
        now = utcnow()
        if not rows:
            statements = [("INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [fingerprint, name, source, kind, revision, dtype, n_params, base_model,
                            frames.dumps(lineage or {}, "model lineage"), frames.dumps(identity, "model identity"),
                            now])]
        else:
            first_name, known = rows[0]
            merged = {**(frames.loads(known) or {}), **{k: v for k, v in (lineage or {}).items() if v is not None}}
            statements = [(
                "UPDATE models SET source = ?, kind = ?, revision = coalesce(?, revision), dtype = ?, "
                "n_params = coalesce(?, n_params), base_model = coalesce(?, base_model), lineage = ?, identity = ? "
                "WHERE fingerprint = ?",
                [source, kind, revision, dtype, n_params, base_model, frames.dumps(merged, "model lineage"),
                 frames.dumps(identity, "model identity"), fingerprint])]
            if name != first_name:
                statements.append(("INSERT INTO model_aliases VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                   [fingerprint, name, now]))
        statements.append((DERIVED_EDGES, [now, fingerprint, fingerprint]))
        self._transaction(statements)

    def upsert_task(self, *, task_hash: str, name: str, version: str, family: str, config: dict) -> None:
        """Insert or update one task version, keeping its first `created_at`."""
        self._writable().execute(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_hash) DO UPDATE SET "
            "name = excluded.name, version = excluded.version, family = excluded.family, config = excluded.config",
            [task_hash, name, version, family, frames.dumps(config, "task config"), utcnow()],
        )

    def start_run(self, *, model_fingerprint: str, config: dict, seed: int, device: str, versions: dict,
                  git_sha: str | None, command: str) -> str:
        """Record a new run with status 'running'; return its id (uuid4 hex)."""
        con = self._writable()
        if not con.execute("SELECT 1 FROM models WHERE fingerprint = ?", [model_fingerprint]).fetchall():
            raise StoreError(f"model {model_fingerprint} is not in {self.path}; call upsert_model before start_run")
        run_id = uuid.uuid4().hex
        now = utcnow()
        con.execute(
            "INSERT INTO runs (run_id, model_fingerprint, status, config, seed, device, versions, git_sha, command, "
            "started_at, pid, host, updated_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, model_fingerprint, frames.dumps(config, "run config"), seed, device,
             frames.dumps(versions, "run versions"), git_sha, command, now, os.getpid(), socket.gethostname(), now],
        )
        return run_id

    def write_samples(self, run_id: str, samples: pd.DataFrame) -> int:
        """Upsert per-sample rows (key: task, doc_id); return how many rows were written."""
        prepared = frames.prepare(samples, SAMPLE_COLUMNS, ["task", "doc_id"], what="samples",
                                  json_columns=JSON_COLUMNS["samples"],
                                  text_columns=_SAMPLE_TEXT)
        return self._bulk(run_id, prepared, SAMPLE_UPSERT, [run_id, utcnow()])

    def write_results(self, run_id: str, results: pd.DataFrame) -> int:
        """Upsert aggregate rows (key: task, metric); return how many rows were written."""
        prepared = frames.prepare(results, RESULT_COLUMNS, ["task", "metric"], what="results",
                                  text_columns=("task", "task_hash", "metric"))
        return self._bulk(run_id, prepared, RESULT_UPSERT, [run_id])

    def _bulk(self, run_id: str, frame: pd.DataFrame, sql: str, params: list[Any]) -> int:
        con = self._writable()
        self._check_run(run_id)
        if frame.empty:
            return 0
        view = f"lmbench_in_{uuid.uuid4().hex}"
        con.register(view, frame)
        con.begin()
        try:
            con.execute(sql.format(view=view), params)
            con.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", [utcnow(), run_id])
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise StoreError(f"writing to {self.path} failed: {str(exc).strip().splitlines()[0]}; "
                             "check the disk and file permissions") from exc
        finally:
            con.unregister(view)
        return len(frame)

    def finish_run(self, run_id: str, *, status: str, timings: dict, error: str | None = None) -> None:
        """Close a run as 'done', 'failed' or 'interrupted'."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"run status {status!r} is not one of {FINAL_STATUSES}")
        con = self._writable()
        self._check_run(run_id)
        now = utcnow()
        con.execute(
            "UPDATE runs SET status = ?, finished_at = ?, updated_at = ?, timings = ?, error = ? WHERE run_id = ?",
            [status, now, now, frames.dumps(timings, "run timings"), error, run_id],
        )

    def _check_run(self, run_id: str) -> None:
        if not self.con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchall():
            raise StoreError(f"run {run_id!r} is not in {self.path}; list runs with `lmbench runs` or start a new one")

    # -- reads ---------------------------------------------------------------
    def models(self) -> pd.DataFrame:
        """All models, JSON columns parsed."""
        return self._table("models", {}, "created_at, fingerprint")

    def tasks(self) -> pd.DataFrame:
        """All task versions, JSON columns parsed."""
        return self._table("tasks", {}, "name, version, task_hash")

    def runs(self) -> pd.DataFrame:
        """All runs, oldest first, JSON columns parsed."""
        return self._table("runs", {}, "started_at, run_id")

    def results(self, run_id: str | None = None) -> pd.DataFrame:
        """Aggregate results, of one run or all."""
        return self._table("results", {"run_id": run_id}, "run_id, task, metric")

    def samples(self, run_id: str | None = None, task: str | None = None) -> pd.DataFrame:
        """Per-sample rows, optionally of one run and/or task, numeric doc ids in number order; JSON parsed."""
        order = "run_id, task, TRY_CAST(doc_id AS BIGINT) NULLS LAST, doc_id"
        return self._table("samples", {"run_id": run_id, "task": task}, order)
