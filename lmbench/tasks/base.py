"""The multiple-choice task contract: docs in, requests out, per-sample scores back.

A task is a frozen dataclass. Its prompt is `description + shots + query`,
each shot being `template(shot) + " " + choice label`, joined by "\\n\\n", the
lm-evaluation-harness way; each choice is scored as the continuation
`" " + choice` after the query.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lmbench.engine.requests import LoglikelihoodRequest
from lmbench.errors import TaskError


@dataclass(frozen=True)
class Doc:
    """One question: template fields, the choice strings scored, the gold index."""

    doc_id: str
    fields: dict[str, str]
    choices: tuple[str, ...]
    gold: int
    group: str | None = None  # subject, for per-group and macro averages

    @property
    def doc_hash(self) -> str:
        blob = json.dumps([self.fields, self.choices, self.gold], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class TaskData:
    docs: list[Doc]  # evaluated split, in file order
    fewshot: list[Doc]  # pool the shots come from, in order
    files: list[Path]  # every file read, hashed into the task hash
    fewshot_excludes_self: bool = False  # pool is the evaluated split: skip the doc itself


@dataclass(frozen=True)
class MultipleChoiceTask:
    name: str
    version: str
    family: str
    template: str  # str.format template over Doc.fields, ending before the answer
    loader: Callable[[Path | None], TaskData]
    description: str = ""
    citation: str = ""
    default_shots: int = 0
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"
    groups: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "choice"  # how the runner scores and summarises it (see lmbench.scoring)

    def load(self, root: Path | None) -> TaskData:
        return self.loader(root)

    def render(self, doc: Doc) -> str:
        return self.template.format(**doc.fields)

    def shots_for(self, doc: Doc, data: TaskData, shots: int) -> list[Doc]:
        pool = [d for d in data.fewshot if d.doc_id != doc.doc_id] if data.fewshot_excludes_self else data.fewshot
        if shots > len(pool):
            raise TaskError(
                f"--shots {shots} is more than task {self.name!r} has few-shot examples ({len(pool)}); "
                f"use --shots {len(pool)} or fewer"
            )
        return pool[:shots]

    def prompt(self, doc: Doc, shot_docs: list[Doc]) -> str:
        parts = [self.render(s) + self.target_delimiter + s.choices[s.gold] for s in shot_docs]
        return self.description + "".join(p + self.fewshot_delimiter for p in parts) + self.render(doc)

    def requests(self, prompt: str, doc: Doc) -> list[LoglikelihoodRequest]:
        return [LoglikelihoodRequest(prompt, self.target_delimiter + choice) for choice in doc.choices]

    def task_hash(self, data: TaskData, shots: int, file_digests: dict[str, str]) -> str:
        """Covers version, prompt format, shots and the data files, so a changed prompt never hits an old cache."""
        identity = {"name": self.name, "version": self.version, "template": self.template,
                    "description": self.description, "delims": [self.target_delimiter, self.fewshot_delimiter],
                    "shots": shots, "files": file_digests}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
