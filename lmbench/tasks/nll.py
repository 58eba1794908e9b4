"""The LMFlow NLL benchmark: how much probability a model gives reference answers (no generation).

`nll:PATH` scores any LMFlow dataset (file or folder) of type text_only,
text2text or conversation; `lmflow_nll` is the built-in suite over the real
data under --data-dir: chat (HH-RLHF helpful-base `chosen` dialogues, each
assistant turn an output with the dialogue before it as context), PubMedQA
(question + contexts -> long answer, PQA-L) and MedMCQA explanations
(question + options -> explanation, where present). Prompts use LMFlow's
Robin structure `###Human: {input}###Assistant:` (lmbench.engine.templates, the one template module).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lmbench.data.lmflow import LMFlowDataset, load_lmflow
from lmbench.data.locate import missing_data
from lmbench.engine.requests import NllRequest, RollingRequest
from lmbench.engine.templates import ROBIN_PROMPT, Segment, conversation_segments, text2text_segments
from lmbench.errors import DataError, TaskError
from lmbench.tasks.base import TaskData
from lmbench.tasks.nll_rows import NLL_METRICS, ROLLING_METRICS, nll_group_rows, nll_rows, rolling_rows
from lmbench.tasks.protocol import (PrepareOptions, PreparedTask, ResultRow, SampleRecord, ScoringContext,
                                    TaskFamily, task_samples)
from lmbench.tasks.registry import register, register_group, register_prefix

if TYPE_CHECKING:
    import pandas as pd

CITATION = "Diao et al., LMFlow: An Extensible Toolkit for Finetuning and Inference of Large Foundation Models, NAACL 2024"


@dataclass(frozen=True)
class NllDoc:
    doc_id: str
    segments: tuple[tuple[str, bool], ...]  # (text, scored), tokenized separately
    skip_first: bool = False

    @property
    def doc_hash(self) -> str:
        blob = json.dumps([self.segments, self.skip_first]).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.segments)

    @property
    def target(self) -> str:
        return "".join(text for text, scored in self.segments if scored)


def to_docs(dataset: LMFlowDataset, prompt: str = ROBIN_PROMPT) -> list[NllDoc]:
    """LMFlow instances -> scored segments (lmbench.engine.templates), as DESIGN.md defines the NLL benchmark.

    `prompt` is a template name (robin, chatml, llama3, plain) or a user-turn format string with {input}."""
    docs = []
    for i, inst in enumerate(dataset.instances):
        doc_id = str(inst.get("id", inst.get("conversation_id", i)))
        if dataset.type == "text_only":
            docs.append(NllDoc(doc_id, ((inst["text"], True),), skip_first=True))
        elif dataset.type == "text2text":
            docs.append(NllDoc(doc_id, _plain(text2text_segments(inst["input"], inst["output"], prompt))))
        elif dataset.type == "conversation":
            system = [{"role": "system", "content": inst["system"]}] if inst.get("system") else []
            docs.append(NllDoc(doc_id, _plain(conversation_segments(system + list(inst["messages"]), prompt))))
        else:
            where = dataset.files[0] if dataset.files else "dataset"
            raise DataError(f"{where}: type {dataset.type} holds preference pairs; the NLL benchmark needs "
                            "text_only, text2text or conversation data")
    return docs


def _plain(segments: list[Segment]) -> tuple[tuple[str, bool], ...]:
    return tuple((s.text, s.trained) for s in segments)  # tuples: the doc hash is JSON of these


@dataclass(frozen=True)
class NllTask(TaskFamily):
    """Scores reference outputs; metrics (lmbench.tasks.nll_rows): nll, nll_per_token, perplexity, bits_per_byte."""

    name: str
    version: str
    source: Callable[[Path | None], LMFlowDataset]  # reads the data (root = --data-dir)
    family: str = "nll"
    template: str = ROBIN_PROMPT
    description: str = ""
    citation: str = CITATION
    default_shots: int = 0

    def load(self, root: Path | None) -> TaskData:
        dataset = self.source(root)
        return TaskData(to_docs(dataset, self.template), [], dataset.files)  # type: ignore[arg-type]

    metrics: ClassVar[tuple[str, ...]] = NLL_METRICS
    group_metrics: ClassVar[tuple[str, ...]] = NLL_METRICS + ("nll_macro",)

    def shots_to_use(self, options: PrepareOptions) -> int:
        return 0  # the NLL benchmark has no few-shot examples

    def prepare(self, root: Path | None, options: PrepareOptions) -> list[PreparedTask]:
        task = self if options.nll_prompt is None else replace(self, template=options.nll_prompt)
        return TaskFamily.prepare(task, root, options)

    def prompt(self, doc: NllDoc, shot_docs: list) -> str:
        return doc.text

    def requests(self, prompt: str, doc: NllDoc) -> list[NllRequest]:
        return [NllRequest(doc.segments, doc.skip_first)]

    def task_hash(self, data: TaskData, shots: int, file_digests: dict[str, str]) -> str:
        identity = {"name": self.name, "version": self.version, "template": self.template, "files": file_digests,
                    "kind": "nll"}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    def score(self, item: PreparedTask, docs: list[Any], prompts: list[str], outputs: list[list[Any]],
              ctx: ScoringContext) -> list[SampleRecord]:
        return [self.record(item, doc, prompt, target=doc.target, prediction=None, choices=[], logprobs=[-out.nll],
                            metrics={"nll": out.nll, "n_tokens": out.n_tokens, "n_bytes": out.n_bytes,
                                     "n_windows": out.n_windows})
                for doc, prompt, (out,) in zip(docs, prompts, outputs)]

    def aggregate(self, items: list[PreparedTask], samples: pd.DataFrame, seed: int) -> list[ResultRow]:
        return [row for item in items
                for row in nll_rows(item.task.name, list(task_samples(samples, item.task.name)["metrics"]), seed,
                                    item.task_hash)]

    def aggregate_group(self, name: str, items: list[PreparedTask], samples: pd.DataFrame,
                        seed: int) -> list[ResultRow]:
        return nll_group_rows(name, [list(task_samples(samples, i.task.name)["metrics"]) for i in items], seed)


def nll_file_task(argument: str) -> NllTask:
    path = Path(argument).expanduser()

    def source(_root: Path | None) -> LMFlowDataset:
        if not path.exists():
            raise TaskError(f"NLL data {argument!r} does not exist; use --tasks nll:path/to/lmflow_file_or_folder")
        return load_lmflow(path)

    return NllTask(name=f"nll:{argument}", version="1", source=source)


def _suite_source(name: str, build: Callable[[Path], LMFlowDataset], expected: str) -> Callable[[Path | None], LMFlowDataset]:
    def source(root: Path | None) -> LMFlowDataset:
        if root is None or not (root / expected).exists():
            raise missing_data(name, [expected])
        return build(root)
    return source


def _register_suite() -> None:
    from lmbench.data import convert

    chat = _suite_source("lmflow_nll_chat", lambda r: convert.hh_rlhf_conversations(
        r / "hh-rlhf/helpful-base/test.jsonl.gz", field="chosen"), "hh-rlhf/helpful-base/test.jsonl.gz")
    pubmed = _suite_source("lmflow_nll_pubmedqa", lambda r: convert.pubmedqa_text2text(
        r / "pubmedqa/ori_pqal.json"), "pubmedqa/ori_pqal.json")
    medmcqa = _suite_source("lmflow_nll_medmcqa", lambda r: convert.medmcqa_explanations(
        r / "medmcqa/dev.jsonl"), "medmcqa/dev.jsonl")
    for name, loader in (("lmflow_nll_chat", chat), ("lmflow_nll_pubmedqa", pubmed), ("lmflow_nll_medmcqa", medmcqa)):
        register(NllTask(name=name, version="1", source=loader))  # type: ignore[arg-type]
    register_group("lmflow_nll", ["lmflow_nll_chat", "lmflow_nll_pubmedqa", "lmflow_nll_medmcqa"])


register_prefix("nll", nll_file_task)  # type: ignore[arg-type]
_register_suite()


@dataclass(frozen=True)
class RollingDoc:
    doc_id: str
    text: str

    @property
    def doc_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RollingTask(NllTask):
    """`ppl:PATH`: lm-evaluation-harness style rolling perplexity of text_only data (word/byte perplexity, bpb)."""

    template: str = "{text}"

    metrics: ClassVar[tuple[str, ...]] = ROLLING_METRICS
    group_metrics: ClassVar[tuple[str, ...]] = ()

    def prepare(self, root: Path | None, options: PrepareOptions) -> list[PreparedTask]:
        return TaskFamily.prepare(self, root, options)  # --nll-prompt does not apply to raw text

    def load(self, root: Path | None) -> TaskData:
        dataset = self.source(root)
        if dataset.type != "text_only":
            raise DataError(f"{dataset.files[0]}: rolling perplexity needs text_only data, got {dataset.type}")
        docs = [RollingDoc(str(inst.get("id", i)), inst["text"]) for i, inst in enumerate(dataset.instances)]
        return TaskData(docs, [], dataset.files)  # type: ignore[arg-type]

    def prompt(self, doc: RollingDoc, shot_docs: list) -> str:  # type: ignore[override]
        return doc.text

    def requests(self, prompt: str, doc: RollingDoc) -> list[RollingRequest]:  # type: ignore[override]
        return [RollingRequest(doc.text)]

    def score(self, item: PreparedTask, docs: list[Any], prompts: list[str], outputs: list[list[Any]],
              ctx: ScoringContext) -> list[SampleRecord]:
        return [self.record(item, doc, prompt, target=None, prediction=None, choices=[], logprobs=[ll],
                            metrics={"loglikelihood": ll, "words": len(re.split(r"\s+", doc.text)),
                                     "bytes": len(doc.text.encode("utf-8"))})
                for doc, prompt, (ll,) in zip(docs, prompts, outputs)]

    def aggregate(self, items: list[PreparedTask], samples: pd.DataFrame, seed: int) -> list[ResultRow]:
        return [row for item in items
                for row in rolling_rows(item.task.name, list(task_samples(samples, item.task.name)["metrics"]),
                                        item.task_hash)]

    def aggregate_group(self, name: str, items: list[PreparedTask], samples: pd.DataFrame,
                        seed: int) -> list[ResultRow]:
        return []


def rolling_file_task(argument: str) -> RollingTask:
    path = Path(argument).expanduser()

    def source(_root: Path | None) -> LMFlowDataset:
        if not path.exists():
            raise TaskError(f"text data {argument!r} does not exist; use --tasks ppl:path/to/text_only.json")
        return load_lmflow(path)

    return RollingTask(name=f"ppl:{argument}", version="1", source=source, family="rolling",
                       citation="lm-evaluation-harness loglikelihood_rolling")


register_prefix("ppl", rolling_file_task)  # type: ignore[arg-type]
