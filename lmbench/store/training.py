"""Training runs, their step logs and the datasets they read (schema 2)."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pandas as pd

from lmbench.errors import StoreError
from lmbench.store import frames
from lmbench.store.base import StoreBase
from lmbench.store.db import utcnow
from lmbench.store.schema import FINAL_STATUSES

_LOG_UPSERT = """
INSERT INTO train_log (training_run_id, step, metrics, logged_at)
SELECT ?, CAST(step AS BIGINT), metrics, ? FROM {view}
ON CONFLICT (training_run_id, step) DO UPDATE SET
    metrics = json_merge_patch(coalesce(train_log.metrics, '{{}}'), excluded.metrics), logged_at = excluded.logged_at
"""


class TrainingMixin(StoreBase):
    # -- datasets ------------------------------------------------------------
    def upsert_dataset(self, *, content_hash: str, name: str, format: str, rows: int, path: str | None) -> None:
        """Record a dataset by content hash; the first name and format stay, rows and a known path are updated."""
        self._transaction([(
            "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (content_hash) DO UPDATE SET "
            "rows = excluded.rows, path = coalesce(excluded.path, datasets.path)",
            [content_hash, name, format, int(rows), None if path is None else str(path), utcnow()])])

    def datasets(self) -> pd.DataFrame:
        """All datasets, oldest first."""
        return self._table("datasets", {}, "created_at, content_hash")

    # -- training runs -------------------------------------------------------
    def start_training_run(self, *, recipe: str, config: dict, recipe_hash: str, base_fingerprint: str | None,
                           output_dir: str, seed: int, data_hashes: list[str], command: str) -> str:
        """Record a training run as 'running' (with library versions and git sha); return its id (uuid4 hex)."""
        from lmbench.provenance import git_sha, library_versions

        run_id = uuid.uuid4().hex
        now = utcnow()
        self._transaction([(
            "INSERT INTO training_runs (training_run_id, recipe, recipe_hash, config, base_fingerprint, output_dir, "
            "seed, data_hashes, status, versions, git_sha, command, started_at, pid, host, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
            [run_id, recipe, recipe_hash, frames.dumps(config, "training config"), base_fingerprint,
             str(output_dir), seed, frames.dumps(list(data_hashes), "training data hashes"),
             frames.dumps(library_versions(), "training versions"), git_sha(), command, now, os.getpid(),
             socket.gethostname(), now])])
        return run_id

    def log_train(self, training_run_id: str, rows: pd.DataFrame) -> int:
        """Upsert step metrics (column `step` + any metric columns); a step logged twice gains the new metrics."""
        if not isinstance(rows, pd.DataFrame):
            raise TypeError(f"train log rows must be a pandas DataFrame, got {type(rows).__name__}")
        if "step" not in rows.columns:
            raise ValueError(f"train log DataFrame needs a 'step' column; got {list(rows.columns)}")
        self._check_training_run(training_run_id)
        merged: dict[int, dict[str, Any]] = {}
        for record in rows.to_dict("records"):
            step = record.pop("step")
            if frames.missing(step):
                raise ValueError("train log DataFrame: column 'step' has missing values; every row needs a step")
            values = {str(k): v for k, v in record.items() if not frames.missing(v)}
            merged.setdefault(int(step), {}).update(values)
        if not merged:
            return 0
        frame = pd.DataFrame({"step": list(merged),
                              "metrics": [frames.dumps(m, "train log metrics") for m in merged.values()]}, dtype=object)
        view = f"lmbench_log_{uuid.uuid4().hex}"
        self.con.register(view, frame)
        try:
            now = utcnow()
            self._transaction([(_LOG_UPSERT.format(view=view), [training_run_id, now]),
                               ("UPDATE training_runs SET updated_at = ? WHERE training_run_id = ?",
                                [now, training_run_id])])
        finally:
            self.con.unregister(view)
        return len(frame)

    def finish_training_run(self, training_run_id: str, *, status: str, candidate_fingerprint: str | None = None,
                            timings: dict | None = None, error: str | None = None) -> None:
        """Close a training run as 'done', 'failed' or 'interrupted' (with the candidate it produced, if any)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"training run status {status!r} is not one of {FINAL_STATUSES}")
        self._check_training_run(training_run_id)
        now = utcnow()
        self._transaction([(
            "UPDATE training_runs SET status = ?, finished_at = ?, updated_at = ?, "
            "candidate_fingerprint = coalesce(?, candidate_fingerprint), timings = coalesce(?, timings), error = ? "
            "WHERE training_run_id = ?",
            [status, now, now, candidate_fingerprint, frames.dumps(timings, "training timings"), error,
             training_run_id])])

    def training_runs(self) -> pd.DataFrame:
        """All training runs, oldest first, JSON columns parsed."""
        return self._table("training_runs", {}, "started_at, training_run_id")

    def train_log(self, training_run_id: str) -> pd.DataFrame:
        """One row per logged step: step, one column per metric in name order (NaN where a step did not log it),
        logged_at."""
        self._check_training_run(training_run_id)
        raw = self._table("train_log", {"training_run_id": training_run_id}, "step")
        metrics = pd.DataFrame([m or {} for m in raw["metrics"]], index=raw.index)
        metrics = metrics[sorted(metrics.columns)]
        return pd.concat([raw[["step"]], metrics, raw[["logged_at"]]], axis=1)

    def _check_training_run(self, training_run_id: str) -> None:
        if not self._exists("training_runs", "training_run_id", training_run_id):
            raise StoreError(f"training run {training_run_id!r} is not in {self.path}; "
                             "start one with Store.start_training_run")
