"""Task registry: names and groups -> task objects. A new task family is one module that registers itself.

Built-in families live in lmbench.tasks; other packages add theirs as plugins: a module named in the
`lmbench.tasks` entry-point group (or in `_PLUGINS`) is imported when the registry is first read, and
registers its tasks with `register`/`register_prefix`/`register_group`/`register_suite`. The lm-evaluation-
harness bridge is such a plugin (lmbench.harness.register), so lmbench.tasks never imports lmbench.harness.
`register_plugin(module)` loads one more at run time.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from lmbench.errors import TaskError

_TASKS: dict[str, Any] = {}  # name -> TaskFamily instance
_GROUPS: dict[str, tuple[str, ...]] = {}
_DYNAMIC: dict[str, Callable[[str], Any]] = {}
_FAMILIES = ("mmlu", "medmcqa", "pubmedqa", "medqa", "mcq_file", "nll", "hh_rlhf", "pairs")
_PLUGINS = ("lmbench.harness.register",)  # loaded by name, like any third-party plugin
ENTRY_POINT_GROUP = "lmbench.tasks"


@dataclass(frozen=True)
class Suite:
    """A fixed benchmark: members with their own shots, and an `average` over one headline metric of each."""

    name: str
    shots: tuple[tuple[str, int], ...]  # (task or group as passed to --tasks, shots)
    headline: tuple[tuple[str, str], ...]  # (task or group, metric) averaged, plain mean
    citation: str = ""


_SUITES: dict[str, Suite] = {}
_loaded = False


def register(task: Any) -> Any:
    if task.name in _TASKS:
        raise ValueError(f"task {task.name} registered twice")
    _TASKS[task.name] = task
    return task


def register_group(name: str, members: list[str]) -> None:
    _GROUPS[name] = tuple(members)


def register_suite(suite: Suite) -> None:
    _SUITES[suite.name] = suite


def suites() -> dict[str, Suite]:
    _ensure_loaded()
    return dict(_SUITES)


def register_prefix(prefix: str, factory: Callable[[str], Any]) -> None:
    """Tasks built from an argument, e.g. `mcq:path/to/file.jsonl`; the factory must not read data."""
    _DYNAMIC[prefix] = factory


def register_plugin(module: str) -> None:
    """Import a module that registers task families (what the `lmbench.tasks` entry points name)."""
    importlib.import_module(module)


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for family in _FAMILIES:
            importlib.import_module(f"lmbench.tasks.{family}")
        for plugin in _PLUGINS:
            register_plugin(plugin)
        from importlib.metadata import entry_points

        for entry in entry_points(group=ENTRY_POINT_GROUP):
            register_plugin(entry.value)


def lookup(name: str) -> tuple[str, Any] | None:
    """What a name given to --tasks is, without reading data: ('task'|'group'|'suite'|'prefix', object)."""
    _ensure_loaded()
    prefix, sep, argument = name.partition(":")
    if sep and prefix in _DYNAMIC:
        return "prefix", _DYNAMIC[prefix](argument)
    if name in _SUITES:
        return "suite", _SUITES[name]
    if name in _GROUPS:
        return "group", [_TASKS[m] for m in _GROUPS[name] if m in _TASKS]
    if name in _TASKS:
        return "task", _TASKS[name]
    return None


def task_names() -> list[str]:
    _ensure_loaded()
    return sorted(_TASKS)


def groups() -> dict[str, tuple[str, ...]]:
    _ensure_loaded()
    return dict(_GROUPS)


def resolve(spec: str) -> tuple[list[Any], dict[str, tuple[str, ...]]]:
    """Comma-separated names/groups -> unique tasks in order, plus the groups that were asked for."""
    _ensure_loaded()
    tasks: dict[str, Any] = {}
    asked_groups: dict[str, tuple[str, ...]] = {}
    for name in [part.strip() for part in spec.split(",") if part.strip()]:
        prefix, sep, argument = name.partition(":")
        if sep and prefix in _DYNAMIC:
            task = _DYNAMIC[prefix](argument)
            if tasks.setdefault(task.name, task) != task:
                raise TaskError(f"{task.name} is asked for on its own and as part of a suite that fixes its shots; "
                                "drop one of them (or run them as two evals)")
        elif name in _SUITES:
            suite = _SUITES[name]
            for member, shots in suite.shots:
                members, member_groups = resolve(member)
                asked_groups.update(member_groups)
                for task in members:
                    fixed = _with_shots(task, shots)
                    if tasks.setdefault(task.name, fixed) != fixed:
                        raise TaskError(f"{task.name} is asked for on its own and as part of suite {name!r}, which "
                                        f"fixes it at {shots} shots; drop one of them (or run them as two evals)")
            asked_groups[name] = tuple(member for member, _ in suite.shots)
        elif name in _GROUPS:
            asked_groups[name] = _GROUPS[name]
            for member in _GROUPS[name]:
                tasks.setdefault(member, _TASKS[member])
        elif name in _TASKS:
            if tasks.setdefault(name, _TASKS[name]) != _TASKS[name]:
                raise TaskError(f"{name} is asked for on its own and as part of a suite that fixes its shots; "
                                "drop one of them (or run them as two evals)")
        else:
            known = list(_TASKS) + list(_GROUPS) + list(_SUITES)
            close = difflib.get_close_matches(name, known, n=4, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else "run `lmbench tasks` for the list"
            raise TaskError(f"unknown task {name!r}; {hint}")
    if not tasks:
        raise TaskError("no task given; pass --tasks NAME[,NAME...] (see `lmbench tasks`)")
    return list(tasks.values()), asked_groups


def _with_shots(task: Any, shots: int) -> Any:
    """A suite member with its shots fixed (harness tasks take them as `fixed_shots`)."""
    names = {f.name for f in fields(task)}
    return replace(task, default_shots=shots, **({"fixed_shots": shots} if "fixed_shots" in names else {}))
