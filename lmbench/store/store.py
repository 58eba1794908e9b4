"""`Store`: the one way lmbench writes and reads its DuckDB results database."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd

from lmbench.errors import StoreError
from lmbench.store import frames
from lmbench.store.db import connect, migrate, utcnow
from lmbench.store.schema import (
    FINAL_STATUSES, JSON_COLUMNS, RESULT_COLUMNS, RESULT_UPSERT, SAMPLE_COLUMNS, SAMPLE_UPSERT,
)

_SAMPLE_TEXT = ("task", "task_hash", "doc_id", "doc_hash", "prompt", "target", "prediction")

class Store:
    """A results database file; creates or migrates its schema on open."""

    def __init__(self, path: str | Path, *, read_only: bool = False, timeout: float | None = None) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = connect(path, read_only=read_only, timeout=timeout)
        try:
            migrate(self._con, self.path, read_only=read_only)
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        """Release the file (and its lock); safe to call twice."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The open DuckDB connection (for queries the methods below do not cover)."""
        if self._con is None:
            raise StoreError(f"results database {self.path} is closed; open a new Store")
        return self._con

    def _writable(self) -> duckdb.DuckDBPyConnection:
        if self.read_only:
            raise StoreError(f"results database {self.path} was opened read-only; open it without read_only to write")
        return self.con

    # -- writes --------------------------------------------------------------
    def upsert_model(self, *, fingerprint: str, name: str, source: str, kind: str, revision: str | None, dtype: str,
                     n_params: int, base_model: str | None, lineage: dict, identity: dict) -> None:
        """Insert or update one model, keeping its first `created_at`."""
        self._writable().execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET "
            "name = excluded.name, source = excluded.source, kind = excluded.kind, revision = excluded.revision, "
            "dtype = excluded.dtype, n_params = excluded.n_params, base_model = excluded.base_model, "
            "lineage = excluded.lineage, identity = excluded.identity",
            [fingerprint, name, source, kind, revision, dtype, n_params, base_model,
             frames.dumps(lineage, "model lineage"), frames.dumps(identity, "model identity"), utcnow()],
        )

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
    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame (JSON columns stay text)."""
        return self.con.execute(sql, params or []).df()

    def _table(self, table: str, where: dict[str, Any], order: str) -> pd.DataFrame:
        filters = {k: v for k, v in where.items() if v is not None}
        clause = " AND ".join(f"{k} = ?" for k in filters)
        sql = f"SELECT * FROM {table}{' WHERE ' + clause if clause else ''} ORDER BY {order}"
        return frames.decode(self.query(sql, list(filters.values())), JSON_COLUMNS.get(table, ()))

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
