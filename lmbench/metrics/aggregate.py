"""Means with standard errors, and micro/macro averages over task groups."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Aggregate:
    value: float
    stderr: float | None
    n: int


def mean_stderr(values: Sequence[float]) -> Aggregate:
    """Mean and its standard error with the sample (n-1) standard deviation, as the harness reports."""
    n = len(values)
    if n == 0:
        return Aggregate(float("nan"), None, 0)
    mean = sum(values) / n
    if n < 2:
        return Aggregate(mean, None, n)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return Aggregate(mean, math.sqrt(variance / n), n)


def macro(means: Sequence[Aggregate]) -> Aggregate:
    """Unweighted mean of member means (Open LLM Leaderboard v1 MMLU); stderr from member stderrs."""
    k = len(means)
    if k == 0:
        return Aggregate(float("nan"), None, 0)
    value = sum(m.value for m in means) / k
    if any(m.stderr is None for m in means):
        return Aggregate(value, None, sum(m.n for m in means))
    stderr = math.sqrt(sum(m.stderr**2 for m in means)) / k  # type: ignore[operator]
    return Aggregate(value, stderr, sum(m.n for m in means))
