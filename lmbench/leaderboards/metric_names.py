"""Metric names a task stores, to check a spec column whose task has no results yet.

When the database holds results for a task, its stored metrics are the truth and this is not used.
The names come from the task families' own declarations (`metrics`, `group_metrics` of each family,
lmbench.tasks.protocol), read through the task registry, which imports no torch or transformers.
"""

from __future__ import annotations


def expected_metrics(task: str) -> tuple[str, ...]:
    """The metrics a task, group or suite of this name stores once evaluated (multiple choice if unknown)."""
    from lmbench.errors import LmbenchError
    from lmbench.tasks.base import MultipleChoiceTask
    from lmbench.tasks.registry import lookup

    try:
        found = lookup(task)
    except LmbenchError:
        found = None
    if found is None:
        return MultipleChoiceTask.metrics
    what, value = found
    if what == "suite":
        return ("average",)
    if what == "group":
        return value[0].group_metrics if value else ()
    return value.metrics
