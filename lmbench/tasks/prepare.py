"""Resolve tasks, read their data and build every prompt: all input errors surface here, before any model loads."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from lmbench.data.locate import data_root
from lmbench.engine.templates import check_text_template
from lmbench.errors import ConfigError
from lmbench.models.fingerprint import files_digest
from lmbench.tasks.base import MultipleChoiceTask, TaskData
from lmbench.tasks.ids import check_unique_ids
from lmbench.tasks.registry import resolve, suites


@dataclass
class PreparedTask:
    task: MultipleChoiceTask
    data: TaskData  # docs already cut to --limit
    shots: int
    task_hash: str
    prompts: list[str] = field(default_factory=list)
    state: Any = None  # what a task family keeps between preparing and scoring (harness task objects)


def prepare_tasks(spec: str, *, shots: int | None, limit: int | None, data_dir: str | None,
                  nll_prompt: str | None = None, sample: int | None = None, seed: int = 1234,
                  include_path: tuple[str, ...] = ()) -> tuple[list[PreparedTask], dict[str, tuple[str, ...]]]:
    """Tasks in order with their prompts, and the groups asked for (for micro/macro averages).

    `limit` keeps the first N questions (what lm-evaluation-harness's --limit does); `sample` draws N at
    random with `seed` (kept in file order), for files sorted by label such as PubMedQA's test split.
    """
    if sample is not None and (sample < 1 or limit is not None):
        raise ConfigError("--sample N needs N >= 1 and cannot be combined with --limit; choose one")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit} must be a positive number of questions per task")
    if shots is not None and shots < 0:
        raise ConfigError(f"--shots {shots} must be 0 or more")
    if nll_prompt is not None:
        check_text_template(nll_prompt)  # a template name (robin, chatml, ...) or a format string with {input}
    tasks, groups = resolve(spec)
    fixed = [name for name in groups if name in suites()]
    if fixed and shots is not None:
        raise ConfigError(f"--shots cannot change suite {fixed[0]!r}: its shots are part of its definition; drop --shots")
    root = data_root(data_dir)
    prepared = []
    for task in tasks:
        if task.kind == "harness":
            expanded = task.prepare(root, shots=shots, limit=limit, sample=sample, seed=seed, include_path=include_path)
            overlap = sorted({p.task.name for p in expanded} & {p.task.name for p in prepared})
            if overlap:
                raise ConfigError(f"{task.name} repeats {overlap[0]}, already part of another task or group asked "
                                  "for; ask for each harness task once (a group or its members, not both)")
            prepared += expanded
            continue
        if nll_prompt is not None and task.kind == "nll":
            task = replace(task, template=nll_prompt)
        data = task.load(root)
        check_unique_ids(task.name, data.docs, data.files)  # answers are keyed by id: a repeat would vanish
        n_shots = 0 if task.kind == "nll" else task.default_shots if shots is None else shots
        docs = data.docs[:limit] if limit else data.docs
        if sample is not None and sample < len(docs):
            chosen = set(random.Random(f"{seed}:{task.name}").sample(range(len(docs)), sample))
            docs = [d for i, d in enumerate(docs) if i in chosen]
        data = TaskData(docs, data.fewshot, data.files, data.fewshot_excludes_self)
        prompts = [task.prompt(doc, task.shots_for(doc, data, n_shots)) for doc in docs]
        task_hash = task.task_hash(data, n_shots, files_digest(data.files) if data.files else {})
        prepared.append(PreparedTask(task, data, n_shots, task_hash, prompts))
    return prepared, groups
