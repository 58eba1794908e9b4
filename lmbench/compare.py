"""Compare two models on the questions both answered: difference, paired bootstrap CI and p-value, McNemar.

Questions are matched by (task, task hash, doc hash): the same question under the same task definition.
A run imported from lm-evaluation-harness's own output and an lmbench run of that harness task
(`lm_eval:NAME`) hash differently (the harness hashes the document, lmbench the document and its
requests), so between those two only (`NAME` vs `lm_eval:NAME`), tasks with no hash match are matched
by (doc id, exact prompt): an identical prompt string in the same-named task is the same question with
the same shots.
"""

from __future__ import annotations

import json

import pandas as pd

from lmbench.metrics.paired import paired_compare
from lmbench.store import Store
from lmbench.store.queries import resolve_model

_LATEST_ANSWERS = """
SELECT s.task, s.task_hash, s.doc_hash, s.doc_id, s.prompt, s.metrics, s.created_at
FROM samples s JOIN runs r USING (run_id)
WHERE r.model_fingerprint = ? {task_filter}
QUALIFY row_number() OVER (PARTITION BY s.task, s.task_hash, s.doc_hash, s.doc_id ORDER BY s.created_at DESC) = 1
"""
HARNESS_PREFIX = "lm_eval:"


def _answers(store: Store, fingerprint: str, task: str | None) -> pd.DataFrame:
    names = [task, task.removeprefix(HARNESS_PREFIX), HARNESS_PREFIX + task.removeprefix(HARNESS_PREFIX)] if task else []
    sql = _LATEST_ANSWERS.format(task_filter="AND s.task IN (?, ?, ?)" if task else "")
    frame = store.query(sql, [fingerprint] + names)
    frame["metrics"] = frame["metrics"].map(json.loads)
    frame["name"] = frame["task"].str.removeprefix(HARNESS_PREFIX)
    return frame


def _matched(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    exact = a.merge(b, on=["task", "task_hash", "doc_hash"], suffixes=("_a", "_b"))
    exact = exact.assign(label=exact["task"], matched_by="hash")
    done = set(exact["name_a"])

    def rest(frame: pd.DataFrame) -> pd.DataFrame:  # one answer per question: the latest
        left = frame[~frame["name"].isin(done)].sort_values("created_at")
        return left.drop_duplicates(["name", "doc_id", "prompt"], keep="last")

    loose = rest(a).merge(rest(b), on=["name", "doc_id", "prompt"], suffixes=("_a", "_b"))
    harness = loose["task_a"].str.startswith(HARNESS_PREFIX) | loose["task_b"].str.startswith(HARNESS_PREFIX)
    loose = loose[harness & (loose["task_a"] != loose["task_b"])]  # an imported harness run vs a bridge run
    loose = loose.assign(label=loose["task_b"], matched_by="prompt")
    return pd.concat([exact[["label", "matched_by", "metrics_a", "metrics_b"]],
                      loose[["label", "matched_by", "metrics_a", "metrics_b"]]], ignore_index=True)


def compare_models(store: Store, model_a: str, model_b: str, *, task: str | None = None, metric: str = "acc",
                   seed: int = 1234, n_resamples: int = 10_000) -> tuple[str, str, pd.DataFrame]:
    """Per task: both means, B - A, 95% CI, p-values, n, and how the questions were matched."""
    fa, fb = resolve_model(store, model_a), resolve_model(store, model_b)
    matched = _matched(_answers(store, fa, task), _answers(store, fb, task))
    rows = []
    for (name, how), part in matched.groupby(["label", "matched_by"], sort=True):
        xa = [m.get(metric) for m in part["metrics_a"]]
        xb = [m.get(metric) for m in part["metrics_b"]]
        if len(part) < 2 or None in xa or None in xb:
            continue
        result = paired_compare(xa, xb, seed=seed, n_resamples=n_resamples)
        rows.append({"task": name, "n": result.n, f"{metric}_a": result.mean_a, f"{metric}_b": result.mean_b,
                     "diff_b_minus_a": result.diff, "ci_low": result.ci_low, "ci_high": result.ci_high,
                     "p_bootstrap": result.p_value,
                     "p_mcnemar": result.mcnemar.p_value if result.mcnemar else None,
                     "a_only_right": result.mcnemar.b10 if result.mcnemar else None,
                     "b_only_right": result.mcnemar.b01 if result.mcnemar else None, "matched_by": how})
    return fa, fb, pd.DataFrame(rows)


def shared_metrics(store: Store, model_a: str, model_b: str, *, task: str | None = None) -> dict[str, list[str]]:
    """Per task: the per-sample metrics both models recorded on the questions both answered (what --metric can
    name when the default is not among them)."""
    fa, fb = resolve_model(store, model_a), resolve_model(store, model_b)
    matched = _matched(_answers(store, fa, task), _answers(store, fb, task))
    found: dict[str, set[str]] = {}
    for name, ma, mb in matched[["label", "metrics_a", "metrics_b"]].itertuples(index=False):
        both = {k for k, v in ma.items() if isinstance(v, (int, float)) and not isinstance(v, bool)} & set(mb)
        found.setdefault(name, set()).update(both)
    return {name: sorted(metrics) for name, metrics in sorted(found.items()) if metrics}
