"""HH-RLHF alignment evaluation (RAFT paper Table 5): generate answers to Anthropic HH test prompts.

A prompt is a test dialogue (the `chosen` one) up to and including its final "\\n\\nAssistant:"; the
chosen final answer is kept as the reference. Generation is greedy by default, at most `max_new_tokens`
new tokens, stopping at the next "\\n\\nHuman:". Metrics (lmbench.scoring): mean reward from a reward
model, perplexity of the responses, MSTTR-100, distinct/unique/vocab-1/2 and mean prediction length
(scoring and aggregates: lmbench.tasks.generation).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from lmbench.data.locate import missing_data
from lmbench.data.readers import read_jsonl
from lmbench.engine.requests import GenerateRequest
from lmbench.engine.templates import ROBIN_PROMPT, format_prompt
from lmbench.tasks.base import TaskData
from lmbench.tasks.generation import GENERATE_METRICS, REFERENCE_METRICS, GenerationFamily
from lmbench.tasks.registry import register, register_prefix

MARKER = "\n\nAssistant:"
STOP = ("\n\nHuman:",)
CITATION = "Bai et al., Training a Helpful and Harmless Assistant with RLHF, 2022; Dong et al., RAFT, TMLR 2023"


@dataclass(frozen=True)
class GenDoc:
    doc_id: str
    prompt: str
    reference: str

    @property
    def doc_hash(self) -> str:
        return hashlib.sha256(json.dumps([self.prompt, self.reference]).encode()).hexdigest()[:16]


def split_dialogue(text: str) -> tuple[str, str] | None:
    """(prompt up to the last Assistant turn marker, the final answer), or None without such a turn."""
    cut = text.rfind(MARKER)
    if cut < 0:
        return None
    return text[: cut + len(MARKER)], text[cut + len(MARKER) :].strip()


@dataclass(frozen=True)
class GenerationTask(GenerationFamily):
    name: str
    version: str
    subset: str  # helpful-base | harmless-base
    family: str = "hh_rlhf"
    template: str = "{prompt}"
    description: str = ""
    citation: str = CITATION
    default_shots: int = 0
    max_new_tokens: int = 128

    def load(self, root: Path | None) -> TaskData:
        relative = f"hh-rlhf/{self.subset}/test.jsonl.gz"
        if root is None or not (root / relative).is_file():
            raise missing_data(self.name, [relative])
        docs = []
        for i, row in enumerate(read_jsonl(root / relative)):
            parts = split_dialogue(str(row.get("chosen", "")))
            if parts and parts[0].strip():
                docs.append(GenDoc(str(i), *parts))
        return TaskData(docs, [], [root / relative])  # type: ignore[arg-type]

    def shots_for(self, doc: GenDoc, data: TaskData, shots: int) -> list:
        return []

    def prompt(self, doc: GenDoc, shot_docs: list) -> str:
        return doc.prompt

    def requests(self, prompt: str, doc: GenDoc, params: dict | None = None) -> list[GenerateRequest]:
        return [GenerateRequest(prompt, {"max_new_tokens": self.max_new_tokens, "stop": list(STOP), **(params or {})})]

    def task_hash(self, data: TaskData, shots: int, file_digests: dict[str, str]) -> str:
        identity = {"name": self.name, "version": self.version, "files": file_digests, "stop": STOP,
                    "max_new_tokens": self.max_new_tokens}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


register(GenerationTask(name="hh_rlhf_helpful", version="1", subset="helpful-base"))  # type: ignore[arg-type]
register(GenerationTask(name="hh_rlhf_harmless", version="1", subset="harmless-base"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReferenceGenerationTask(GenerationTask):
    """`gen:PATH`: answer the inputs of LMFlow text2text data and score the answers against the outputs
    with BLEU, ROUGE-L, METEOR and NIST (per sample and corpus), plus the diversity metrics."""

    path: str = ""
    family: str = "generate"
    template: str = ROBIN_PROMPT  # a lmbench.engine.templates name or a format string with {input}
    stop: tuple[str, ...] = ("###Human:",)

    metrics: ClassVar[tuple[str, ...]] = GENERATE_METRICS + REFERENCE_METRICS
    reference_metrics: ClassVar[bool] = True

    def load(self, root: Path | None) -> TaskData:
        from lmbench.data.lmflow import load_lmflow
        from lmbench.errors import DataError, TaskError

        source = Path(self.path).expanduser()
        if not source.exists():
            raise TaskError(f"generation data {self.path!r} does not exist; use --tasks gen:path/to/text2text.json")
        dataset = load_lmflow(source)
        if dataset.type != "text2text":
            raise DataError(f"{dataset.files[0]}: gen: needs text2text data (input -> reference output), got {dataset.type}")
        docs = [GenDoc(str(inst.get("id", i)), format_prompt(None, inst["input"], self.template), inst["output"])
                for i, inst in enumerate(dataset.instances)]
        return TaskData(docs, [], dataset.files)  # type: ignore[arg-type]

    def requests(self, prompt: str, doc: GenDoc, params: dict | None = None) -> list[GenerateRequest]:
        return [GenerateRequest(prompt, {"max_new_tokens": self.max_new_tokens, "stop": list(self.stop),
                                         **(params or {})})]

    def task_hash(self, data: TaskData, shots: int, file_digests: dict[str, str]) -> str:
        identity = {"name": self.name, "version": self.version, "files": file_digests, "stop": self.stop,
                    "template": self.template, "max_new_tokens": self.max_new_tokens}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def reference_task(argument: str) -> ReferenceGenerationTask:
    return ReferenceGenerationTask(name=f"gen:{argument}", version="1", subset="", path=argument)


register_prefix("gen", reference_task)  # type: ignore[arg-type]
