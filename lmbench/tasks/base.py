"""The multiple-choice family: docs in, one loglikelihood request per choice out, acc/acc_norm back.

A task is a frozen dataclass implementing `lmbench.tasks.protocol.TaskFamily`. Its prompt is `description + shots + query`,
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
from typing import TYPE_CHECKING, Any, ClassVar

from lmbench.engine.requests import LoglikelihoodRequest
from lmbench.errors import TaskError
from lmbench.tasks.protocol import PreparedTask, ResultRow, SampleRecord, ScoringContext, TaskFamily

if TYPE_CHECKING:
    import pandas as pd

CHOICE_METRICS = ("acc", "acc_norm")


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
class MultipleChoiceTask(TaskFamily):
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

    metrics: ClassVar[tuple[str, ...]] = CHOICE_METRICS
    group_metrics: ClassVar[tuple[str, ...]] = CHOICE_METRICS + ("acc_macro", "acc_norm_macro")

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

    def score(self, item: PreparedTask, docs: list[Any], prompts: list[str], outputs: list[list[Any]],
              ctx: ScoringContext) -> list[SampleRecord]:
        """Choice log-probs (one LoglikelihoodResult per choice) -> acc, acc_norm, the argmax as prediction."""
        from lmbench.metrics.choice import argmax, choice_scores

        records = []
        for doc, prompt, results in zip(docs, prompts, outputs):
            logprobs = [r.logprob for r in results]
            records.append(self.record(item, doc, prompt, target=doc.choices[doc.gold],
                                       prediction=doc.choices[argmax(logprobs)], choices=list(doc.choices),
                                       logprobs=logprobs, metrics=choice_scores(logprobs, doc.choices, doc.gold),
                                       flagged=any(r.flagged for r in results)))
        return records

    def aggregate(self, items: list[PreparedTask], samples: pd.DataFrame, seed: int) -> list[ResultRow]:
        from lmbench.tasks.choice_rows import choice_task_rows

        return [row for item in items for row in choice_task_rows(item, samples, seed)]

    def aggregate_group(self, name: str, items: list[PreparedTask], samples: pd.DataFrame,
                        seed: int) -> list[ResultRow]:
        from lmbench.tasks.choice_rows import choice_group_rows

        return choice_group_rows(name, items, samples)
