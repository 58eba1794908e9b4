"""A run's samples -> result rows: each family aggregates its own tasks and groups; suites average headlines.

No family is named here: tasks sharing a `unit` (the tasks one `lm_eval:` spec expanded into) are handed
to their family together, every other task alone; a registered group is aggregated by the family of its
members (a group mixing families gets no rows); a suite's `average` is the plain mean of its headline
metrics. Bootstrap CIs are seeded with the run's seed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lmbench.tasks.protocol import PreparedTask, ResultRow
from lmbench.tasks.registry import Suite
from lmbench.tasks.registry import suites as registry_suites


def aggregate(prepared: list[PreparedTask], samples: pd.DataFrame, groups: dict[str, tuple[str, ...]],
              seed: int = 1234) -> pd.DataFrame:
    """Per-task rows (family by family, in task order), then one block per group and suite asked for."""
    rows: list[ResultRow] = []
    units: dict[Any, list[PreparedTask]] = {}
    for item in prepared:
        units.setdefault(item.unit if item.unit is not None else ("task", item.task.name), []).append(item)
    for items in units.values():
        rows += items[0].task.aggregate(items, samples, seed)
    by_name = {item.task.name: item for item in prepared}
    suites = registry_suites()
    for group, members in groups.items():
        if group in suites:
            continue
        items = [by_name[m] for m in members if m in by_name]
        if items and len({type(i.task).aggregate_group for i in items}) == 1:
            rows += items[0].task.aggregate_group(group, items, samples, seed)
    for group in groups:
        if group in suites:
            rows += _suite_rows(suites[group], rows)
    return pd.DataFrame([r.as_row() for r in rows], columns=list(ResultRow.__dataclass_fields__))


def _suite_rows(suite: Suite, rows: list[ResultRow]) -> list[ResultRow]:
    """The suite's `average`: plain mean of its headline metrics (absent when one of them is missing)."""
    values = {(r.task, r.metric): r.value for r in rows}
    headline = [values.get(key) for key in suite.headline]
    if any(v is None for v in headline):
        return []
    return [ResultRow(task=suite.name, metric="average", value=sum(headline) / len(headline), n=len(headline))]
