"""Task registry and task families (one module each)."""

from lmbench.tasks.base import Doc, MultipleChoiceTask, TaskData
from lmbench.tasks.registry import groups, resolve, task_names

__all__ = ["Doc", "MultipleChoiceTask", "TaskData", "groups", "resolve", "task_names"]
