"""The task contract every family implements, and the typed records that cross it.

A family (multiple choice, NLL, rolling perplexity, generation, the harness bridge, or one a user adds)
is a frozen dataclass deriving from `TaskFamily`. The runner only ever calls these methods:

    prepare(root, options) -> [PreparedTask]      read data, cut to --limit/--sample, build prompts, hash
    build_requests(item, doc, prompt) -> [request] the engine requests of one document (any request kind)
    score(item, docs, prompts, outputs, ctx)       engine outputs (one list per document) -> [SampleRecord]
    aggregate(items, samples, seed) -> [ResultRow] per-task rows (items sharing `unit` come together)
    aggregate_group(name, items, samples, seed)    rows of a registered group whose members are this family
    task_config(item) -> dict                      what the tasks table records

and reads `metrics` / `group_metrics` (the result metric names, declared once; the leaderboards read them).
Requests are the engine's request types (lmbench.engine.requests); the runner hands each kind to its engine
through a table, never by family. Families register themselves with `lmbench.tasks.registry.register`
(a named task) or `register_prefix` (tasks built from an argument, `mcq:FILE`); a factory only records
its argument: data is read in `prepare`, so building a task object is free.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PrepareOptions:
    """What decides which documents and prompts a plan evaluates (the task-side options of `lmbench eval`)."""

    shots: int | None = None  # None: each task's default
    limit: int | None = None
    sample: int | None = None
    seed: int = 1234
    nll_prompt: str | None = None
    include_path: tuple[str, ...] = ()
    temperature: float = 0.0
    max_new_tokens: int | None = None
    reward_model: str | None = None
    ppl_model: str | None = None


@dataclass
class PreparedTask:
    """One task ready to run: its documents (cut to --limit), prompts, shots and hash."""

    task: Any  # a TaskFamily
    data: Any  # TaskData; docs already cut to --limit / --sample
    shots: int
    task_hash: str
    prompts: list[str] = field(default_factory=list)
    state: Any = None  # what a family keeps between preparing and scoring (harness task objects)
    options: PrepareOptions = field(default_factory=PrepareOptions)
    unit: Hashable | None = None  # prepared tasks aggregated together (one `lm_eval:` spec); None: alone
    notes: dict[str, Any] = field(default_factory=dict)  # recorded in the run's config (e.g. reward pair format)


@dataclass
class SampleRecord:
    """One document's answer, as the samples table stores it."""

    task: str
    task_hash: str
    doc_id: str
    doc_hash: str
    prompt: str | None
    target: str | None
    prediction: str | None
    choices: list[str]
    logprobs: list[float]
    metrics: dict[str, Any]
    flagged: bool = False

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ResultRow:
    """One aggregate number of a task or group, as the results table stores it."""

    task: str
    metric: str
    value: float | None
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    task_hash: str | None = None

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


class ScoringContext(Protocol):
    """What the runner hands a family while scoring: the evaluated model's engines and a cache of helpers."""

    lm: Any  # LoadedModel
    seed: int
    batch_size: str
    progress: bool
    bar: Any  # the loglikelihood progress bar, or None

    def engine(self, name: str) -> Any:
        """The evaluated model's engine: 'loglikelihood', 'texts' (NLL/rolling) or 'generate', built on first use."""

    def shared(self, key: str, build: Any) -> Any:
        """A helper kept for the whole plan (reward model, perplexity model), built once by `build()`."""


def stable_hash(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def pick_docs(docs: Sequence[Any], options: PrepareOptions, name: str) -> list[Any]:
    """--limit keeps the first N documents; --sample draws N with the seed (kept in file order)."""
    chosen = list(docs[: options.limit] if options.limit else docs)
    if options.sample is not None and options.sample < len(chosen):
        keep = set(random.Random(f"{options.seed}:{name}").sample(range(len(chosen)), options.sample))
        chosen = [d for i, d in enumerate(chosen) if i in keep]
    return chosen


class TaskFamily:
    """Base of every family: the default `prepare` (load, pick docs, prompts, hash) and no-op hooks.

    Subclasses are frozen dataclasses with at least `name`, `version`, `family`, `template`, `description`,
    `citation` and `default_shots` fields, and implement `load`, `prompt`, `requests`, `score`, `aggregate`.
    """

    metrics: ClassVar[tuple[str, ...]] = ()  # result metrics of one task of this family
    group_metrics: ClassVar[tuple[str, ...]] = ()  # result metrics of a registered group of such tasks

    # -- preparing ---------------------------------------------------------------------------------------
    def shots_to_use(self, options: PrepareOptions) -> int:
        return self.default_shots if options.shots is None else options.shots  # type: ignore[attr-defined]

    def shots_for(self, doc: Any, data: Any, shots: int) -> list[Any]:
        return []

    def prepare(self, root: Path | None, options: PrepareOptions) -> list[PreparedTask]:
        from lmbench.models.fingerprint import files_digest
        from lmbench.tasks.base import TaskData
        from lmbench.tasks.ids import check_unique_ids

        data = self.load(root)  # type: ignore[attr-defined]
        check_unique_ids(self.name, data.docs, data.files)  # type: ignore[attr-defined]  # answers are keyed by id
        n_shots = self.shots_to_use(options)
        if data.files:
            digests = files_digest(data.files)
        else:  # read from the Hub (or built in code): the data's revision is its content, shots' pool included
            digests = {"content": stable_hash({"docs": [d.doc_hash for d in data.docs],
                                               "fewshot": [d.doc_hash for d in data.fewshot]})}
        docs = pick_docs(data.docs, options, self.name)  # type: ignore[attr-defined]
        data = TaskData(docs, data.fewshot, data.files, data.fewshot_excludes_self)
        prompts = [self.prompt(doc, self.shots_for(doc, data, n_shots)) for doc in docs]  # type: ignore[attr-defined]
        task_hash = self.task_hash(data, n_shots, digests)  # type: ignore[attr-defined]
        return [PreparedTask(self, data, n_shots, task_hash, prompts, options=options)]

    # -- scoring -----------------------------------------------------------------------------------------
    def build_requests(self, item: PreparedTask, doc: Any, prompt: str) -> list[Any]:
        return self.requests(prompt, doc)  # type: ignore[attr-defined]

    def score(self, item: PreparedTask, docs: list[Any], prompts: list[str], outputs: list[list[Any]],
              ctx: ScoringContext) -> list[SampleRecord]:
        raise NotImplementedError

    def aggregate(self, items: list[PreparedTask], samples: pd.DataFrame, seed: int) -> list[ResultRow]:
        raise NotImplementedError

    def aggregate_group(self, name: str, items: list[PreparedTask], samples: pd.DataFrame,
                        seed: int) -> list[ResultRow]:
        return []

    def task_config(self, item: PreparedTask) -> dict[str, Any]:
        return {"template": self.template, "shots": item.shots, "description": self.description,  # type: ignore
                "citation": self.citation}  # type: ignore[attr-defined]

    def record(self, item: PreparedTask, doc: Any, prompt: str | None, **fields: Any) -> SampleRecord:
        """A sample record of `doc` with this task's name and hash filled in."""
        return SampleRecord(task=self.name, task_hash=item.task_hash, doc_id=doc.doc_id,  # type: ignore
                            doc_hash=doc.doc_hash, prompt=prompt, **fields)


def task_samples(samples: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one task in a run's samples (an empty frame if none)."""
    if samples.empty:
        return samples
    return samples.loc[samples["task"] == name]
