"""Compare two models on the questions both answered: difference, paired bootstrap CI and p-value, McNemar."""

from __future__ import annotations

import pandas as pd

from lmbench.metrics.paired import paired_compare
from lmbench.store import Store
from lmbench.store.queries import resolve_model

_LATEST_ANSWERS = """
SELECT s.task, s.task_hash, s.doc_hash, s.metrics FROM samples s JOIN runs r USING (run_id)
WHERE r.model_fingerprint = ? {task_filter}
QUALIFY row_number() OVER (PARTITION BY s.task_hash, s.doc_hash ORDER BY s.created_at DESC) = 1
"""


def _answers(store: Store, fingerprint: str, task: str | None) -> pd.DataFrame:
    sql = _LATEST_ANSWERS.format(task_filter="AND s.task = ?" if task else "")
    frame = store.query(sql, [fingerprint] + ([task] if task else []))
    import json

    frame["metrics"] = frame["metrics"].map(json.loads)
    return frame


def compare_models(store: Store, model_a: str, model_b: str, *, task: str | None = None, metric: str = "acc",
                   seed: int = 1234, n_resamples: int = 10_000) -> tuple[str, str, pd.DataFrame]:
    """Per task, on questions matched by (task hash, doc hash): both means, B - A, 95% CI, p-values, n."""
    fa, fb = resolve_model(store, model_a), resolve_model(store, model_b)
    a, b = _answers(store, fa, task), _answers(store, fb, task)
    matched = a.merge(b, on=["task", "task_hash", "doc_hash"], suffixes=("_a", "_b"))
    rows = []
    for name, part in matched.groupby("task", sort=True):
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
                     "b_only_right": result.mcnemar.b01 if result.mcnemar else None})
    return fa, fb, pd.DataFrame(rows)
