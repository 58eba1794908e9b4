"""What a leaderboard reads from the results database: models, finished runs, their results and samples.

Only runs with status 'done' count. A result's shots come from its run's `task_shots` (which records a group's
shots when its members agree); for runs recorded before that, a group or suite row (e.g. `mmlu`) takes the shots
its run used for every task, or, when the run mixed shots, those of its members named `<group>_*` when they
agree; otherwise its shots are unknown and it matches only columns that leave `shots` unset. When several finished runs give
the same (model, task, metric, shots), the latest one is the number.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lmbench.errors import StoreError
from lmbench.store import Store

_RESULTS = """
SELECT r.model_fingerprint AS fingerprint, res.run_id, res.task, res.task_hash, res.metric, res.value, res.stderr,
       res.ci_low, res.ci_high, res.n, r.started_at
FROM results res JOIN runs r USING (run_id) WHERE r.status = 'done'
ORDER BY r.started_at, res.run_id, res.task, res.metric
"""
_RUNS = """
SELECT run_id, model_fingerprint AS fingerprint, command, versions, git_sha, seed, device, started_at, finished_at,
       json_extract(config, '$.task_shots') AS task_shots
FROM runs WHERE status = 'done' ORDER BY started_at
"""


@dataclass(frozen=True)
class ModelInfo:
    fingerprint: str
    name: str
    dtype: str
    kind: str
    source: str
    n_params: int | None
    base_model: str | None  # the base's name, as the runner records it
    lineage: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # later names of the model (its first stays `name`)


@dataclass(frozen=True)
class Cell:
    """One stored number (in stored units) and where it came from."""

    value: float
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    ci_kind: str | None  # "stored" (with the result), "normal" (value +- 1.96 stderr, computed here) or None
    n: int | None
    run_id: str
    shots: int | None
    task_hash: str | None


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


class ResultsView:
    """The database read once into frames; cells, models and samples looked up from them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        models = store.models()
        aliases: dict[str, list[str]] = {}
        for fingerprint, alias in store.aliases()[["fingerprint", "alias"]].itertuples(index=False):
            aliases.setdefault(fingerprint, []).append(alias)
        self.models = {r["fingerprint"]: ModelInfo(
            fingerprint=r["fingerprint"], name=r["name"], dtype=r["dtype"], kind=r["kind"], source=r["source"],
            n_params=None if pd.isna(r["n_params"]) else int(r["n_params"]), base_model=r["base_model"] or None,
            lineage=r["lineage"] or {}, aliases=tuple(aliases.get(r["fingerprint"], ())))
            for r in models.to_dict("records")}
        runs = store.query(_RUNS)
        runs["task_shots"] = [json.loads(v) if isinstance(v, str) else {} for v in runs["task_shots"]]
        runs["versions"] = [json.loads(v) if isinstance(v, str) else {} for v in runs["versions"]]
        self.runs = {r["run_id"]: r for r in runs.to_dict("records")}
        results = store.query(_RESULTS)
        results["shots"] = [self._shots(run, task) for run, task in zip(results["run_id"], results["task"])]
        self.results = results

    def _shots(self, run_id: str, task: str) -> int | None:
        task_shots = self.runs[run_id]["task_shots"]
        if task in task_shots:
            return int(task_shots[task])
        for values in (set(task_shots.values()), {v for t, v in task_shots.items() if t.startswith(task + "_")}):
            if len(values) == 1:
                return int(values.pop())
        return None

    # -- what exists ----------------------------------------------------------
    def tasks(self) -> list[str]:
        return sorted(set(self.results["task"]))

    def metrics_of(self, task: str) -> list[str]:
        return sorted(set(self.results.loc[self.results["task"] == task, "metric"]))

    def fingerprints_with(self, tasks: list[str]) -> list[str]:
        return list(dict.fromkeys(self.results.loc[self.results["task"].isin(tasks), "fingerprint"]))

    def find_model(self, selector: str, dtype: str | None = None) -> ModelInfo:
        """A model name, alias or fingerprint prefix (and dtype) -> exactly one model, or an error naming the
        choices. The first rule that matches any model decides, as `lmbench.store.queries.match_models`: a full
        fingerprint, a first name, an alias, a fingerprint prefix."""
        rules = (lambda m: m.fingerprint == selector, lambda m: m.name == selector,
                 lambda m: selector in m.aliases, lambda m: m.fingerprint.startswith(selector))
        hits: list[ModelInfo] = []
        for rule in rules:
            hits = [m for m in self.models.values() if rule(m) and (dtype is None or m.dtype == dtype)]
            if hits:
                break
        if len(hits) == 1:
            return hits[0]
        known = "; ".join(f"{m.name} ({m.dtype}, {m.fingerprint})" for m in self.models.values()) or "none yet"
        what = f"{selector!r}" + (f" with dtype {dtype}" if dtype else "")
        if not hits:
            raise StoreError(f"no model {what} in {self.store.path}; known models: {known}")
        choices = ", ".join(f"{m.fingerprint} ({m.dtype})" for m in hits)
        raise StoreError(f"model {what} is ambiguous in {self.store.path}: add `dtype:` to its row or give a "
                         f"fingerprint, one of {choices}")

    # -- numbers --------------------------------------------------------------
    def cell(self, fingerprint: str, task: str, metric: str, shots: int | None) -> Cell | None:
        """The latest finished run's number, or None (missing: never evaluated, or stored as NULL)."""
        r = self.results
        hits = r[(r["fingerprint"] == fingerprint) & (r["task"] == task) & (r["metric"] == metric)]
        if shots is not None:
            hits = hits[hits["shots"] == shots]
        if hits.empty or _num(hits.iloc[-1]["value"]) is None:
            return None
        row = hits.iloc[-1]
        value, stderr = float(row["value"]), _num(row["stderr"])
        low, high, kind = _num(row["ci_low"]), _num(row["ci_high"]), "stored"
        if low is None or high is None:
            low, high, kind = (value - 1.96 * stderr, value + 1.96 * stderr, "normal") if stderr else (None, None, None)
        return Cell(value=value, stderr=stderr, ci_low=low, ci_high=high, ci_kind=kind,
                    n=None if pd.isna(row["n"]) else int(row["n"]), run_id=str(row["run_id"]),
                    shots=None if pd.isna(row["shots"]) else int(row["shots"]),
                    task_hash=None if pd.isna(row["task_hash"]) else str(row["task_hash"]))

    def samples(self, run_id: str, task: str, limit: int | None = None) -> pd.DataFrame:
        """A run's per-question rows of one task, in document order (metrics parsed)."""
        frame = self.store.query(
            "SELECT doc_id, task_hash, doc_hash, prompt, target, prediction, metrics FROM samples "
            "WHERE run_id = ? AND task = ? ORDER BY TRY_CAST(doc_id AS BIGINT) NULLS LAST, doc_id"
            + (f" LIMIT {int(limit)}" if limit is not None else ""), [run_id, task])
        frame["metrics"] = [json.loads(v) if isinstance(v, str) else {} for v in frame["metrics"]]
        return frame
