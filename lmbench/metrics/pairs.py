"""Reward-model quality on preference pairs: pure functions over (r_chosen, r_rejected).

Per pair: correct = 1 if r_chosen > r_rejected else 0 (a tie counts as wrong), margin = r_chosen -
r_rejected, bt_loss = -log sigmoid(margin) (the Bradley-Terry loss the `reward` recipe minimises).
Aggregates: pair_accuracy (mean of correct, stderr n-1, percentile-bootstrap 95% CI with a fixed seed),
mean_margin and bt_loss (means with stderr).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lmbench.metrics.aggregate import mean_stderr
from lmbench.metrics.stats import bootstrap_ci

PAIR_METRICS = ("pair_accuracy", "mean_margin", "bt_loss")


def log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def pair_scores(r_chosen: float, r_rejected: float) -> dict[str, float]:
    margin = float(r_chosen) - float(r_rejected)
    return {"correct": float(margin > 0), "margin": margin, "bt_loss": -log_sigmoid(margin),
            "r_chosen": float(r_chosen), "r_rejected": float(r_rejected)}


def pair_rows(name: str, records: Sequence[dict[str, Any]], seed: int = 1234) -> list[dict[str, Any]]:
    """Result rows (task, metric, value, stderr, ci_low, ci_high, n) from per-pair `pair_scores` dicts."""
    rows = []
    for metric, key in (("pair_accuracy", "correct"), ("mean_margin", "margin"), ("bt_loss", "bt_loss")):
        values = [r[key] for r in records]
        agg = mean_stderr(values)
        low, high = bootstrap_ci(values, seed=seed) if values else (None, None)
        rows.append({"task": name, "metric": metric, "value": agg.value, "stderr": agg.stderr, "ci_low": low,
                     "ci_high": high, "n": agg.n})
    return rows
