"""Multiple-choice aggregates: per task mean, stderr (n-1) and bootstrap CI; per group micro and macro."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lmbench.metrics.aggregate import Aggregate, macro, mean_stderr
from lmbench.metrics.stats import bootstrap_ci, clustered_stderr
from lmbench.tasks.base import CHOICE_METRICS
from lmbench.tasks.protocol import PreparedTask, ResultRow, task_samples


def aggregate_row(task: str, metric: str, agg: Aggregate, **extra: Any) -> ResultRow:
    return ResultRow(task=task, metric=metric, value=agg.value, stderr=agg.stderr, n=agg.n, **extra)


def choice_task_rows(item: PreparedTask, samples: pd.DataFrame, seed: int) -> list[ResultRow]:
    """Mean, stderr (n-1) and a percentile-bootstrap 95% CI (seeded with the run's seed) of acc and acc_norm."""
    metrics = list(task_samples(samples, item.task.name)["metrics"]) if not samples.empty else []
    rows = []
    for metric in CHOICE_METRICS:
        values = [s[metric] for s in metrics]
        low, high = bootstrap_ci(values, seed=seed) if values else (None, None)
        rows.append(aggregate_row(item.task.name, metric, mean_stderr(values), ci_low=low, ci_high=high,
                                  task_hash=item.task_hash))
    return rows


def choice_group_rows(group: str, items: list[PreparedTask], samples: pd.DataFrame) -> list[ResultRow]:
    """Micro (all questions; stderr clustered by task, CI = mean +- 1.96 SE) and macro (mean of task means)."""
    members = [item.task.name for item in items]
    in_group = samples[samples["task"].isin(members)] if not samples.empty else samples
    rows = []
    for metric in CHOICE_METRICS:
        values = [s[metric] for s in in_group["metrics"]] if not in_group.empty else []
        micro = mean_stderr(values)
        se = clustered_stderr(values, list(in_group["task"])) if len(members) > 1 and values else micro.stderr
        rows.append(ResultRow(task=group, metric=metric, value=micro.value, stderr=se,
                              ci_low=None if se is None else micro.value - 1.96 * se,
                              ci_high=None if se is None else micro.value + 1.96 * se, n=micro.n))
        means = [mean_stderr([s[metric] for s in task_samples(samples, m)["metrics"]]) for m in members]
        rows.append(aggregate_row(group, f"{metric}_macro", macro([m for m in means if m.n])))
    return rows
