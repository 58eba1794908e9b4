"""Reuse of finished work: samples already scored for (model fingerprint, task hash, doc hash), and resumable runs.

A sample's answer depends only on the model (fingerprint) and its prompt and
choices, which the task hash (version, template, shots, data files) and the
doc hash fix; so any run's finished sample with the same three keys is the
same answer, whatever run wrote it.
"""

from __future__ import annotations

import os
import socket

import pandas as pd

from lmbench.store import frames
from lmbench.store.db import utcnow
from lmbench.store.liveness import STALE_AFTER, writer_gone
from lmbench.store.schema import JSON_COLUMNS
from lmbench.store.store import Store

__all__ = ["STALE_AFTER", "cached_samples", "latest_run", "reopen_run"]


def cached_samples(store: Store, fingerprint: str, task_hashes: list[str]) -> pd.DataFrame:
    """Latest finished sample per (task_hash, doc_hash) for this model, from any run."""
    if not task_hashes:
        return pd.DataFrame()
    marks = ", ".join("?" for _ in task_hashes)
    frame = store.query(
        f"SELECT s.* FROM samples s JOIN runs r USING (run_id) WHERE r.model_fingerprint = ? "
        f"AND s.task_hash IN ({marks}) QUALIFY row_number() OVER "
        f"(PARTITION BY s.task_hash, s.doc_hash ORDER BY s.created_at DESC) = 1",
        [fingerprint, *task_hashes],
    )
    return frames.decode(frame, JSON_COLUMNS["samples"])


def latest_run(store: Store, run_key: str) -> dict | None:
    """The newest run with this key, with a `resumable` flag (unfinished and nobody working on it)."""
    frame = store.query(
        "SELECT run_id, status, pid, host, updated_at FROM runs WHERE json_extract_string(config, '$.run_key') = ? "
        "ORDER BY started_at DESC LIMIT 1", [run_key])
    if frame.empty:
        return None
    row = frame.iloc[0].to_dict()
    if row["status"] == "running":
        row["resumable"] = writer_gone(row["pid"], row["host"], row["updated_at"])
    else:
        row["resumable"] = row["status"] in ("failed", "interrupted")
    return row


def reopen_run(store: Store, run_id: str) -> None:
    """Mark an unfinished run as running again, by this process."""
    store.con.execute(
        "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, pid = ?, host = ?, "
        "updated_at = ? WHERE run_id = ?", [os.getpid(), socket.gethostname(), utcnow(), run_id])
