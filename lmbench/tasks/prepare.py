"""Resolve tasks, read their data and build every prompt: all input errors surface here, before any model loads.

Each family prepares itself (`TaskFamily.prepare`); a harness spec may expand into several prepared tasks.
"""

from __future__ import annotations

from lmbench.data.locate import data_root
from lmbench.engine.templates import check_text_template
from lmbench.errors import ConfigError
from lmbench.tasks.protocol import PrepareOptions, PreparedTask
from lmbench.tasks.registry import resolve, suites

__all__ = ["PrepareOptions", "PreparedTask", "check_prepare_options", "prepare", "prepare_tasks"]


def check_prepare_options(options: PrepareOptions) -> None:
    if options.sample is not None and (options.sample < 1 or options.limit is not None):
        raise ConfigError("--sample N needs N >= 1 and cannot be combined with --limit; choose one")
    if options.limit is not None and options.limit < 1:
        raise ConfigError(f"--limit {options.limit} must be a positive number of questions per task")
    if options.shots is not None and options.shots < 0:
        raise ConfigError(f"--shots {options.shots} must be 0 or more")
    if options.nll_prompt is not None:
        check_text_template(options.nll_prompt)  # a template name (robin, chatml, ...) or a format string with {input}


def prepare(spec: str, options: PrepareOptions, data_dir: str | None) -> tuple[list[PreparedTask],
                                                                               dict[str, tuple[str, ...]]]:
    """Tasks in order with their prompts, and the groups asked for (for micro/macro averages).

    `limit` keeps the first N questions (what lm-evaluation-harness's --limit does); `sample` draws N at
    random with `seed` (kept in file order), for files sorted by label such as PubMedQA's test split.
    """
    check_prepare_options(options)
    tasks, groups = resolve(spec)
    fixed = [name for name in groups if name in suites()]
    if fixed and options.shots is not None:
        raise ConfigError(f"--shots cannot change suite {fixed[0]!r}: its shots are part of its definition; drop --shots")
    root = data_root(data_dir)
    prepared: list[PreparedTask] = []
    for task in tasks:
        expanded = task.prepare(root, options)
        overlap = sorted({p.task.name for p in expanded} & {p.task.name for p in prepared})
        if overlap:
            raise ConfigError(f"{task.name} repeats {overlap[0]}, already part of another task or group asked "
                              "for; ask for each task once (a group or its members, not both)")
        prepared += expanded
    return prepared, groups


def prepare_tasks(spec: str, *, shots: int | None, limit: int | None, data_dir: str | None,
                  nll_prompt: str | None = None, sample: int | None = None, seed: int = 1234,
                  include_path: tuple[str, ...] = ()) -> tuple[list[PreparedTask], dict[str, tuple[str, ...]]]:
    """`prepare` with the options as keywords (the task-side options of `lmbench eval`)."""
    options = PrepareOptions(shots=shots, limit=limit, sample=sample, seed=seed, nll_prompt=nll_prompt,
                             include_path=tuple(include_path))
    return prepare(spec, options, data_dir)
