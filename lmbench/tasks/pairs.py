"""Reward-model quality as a task: pair accuracy on preference pairs (`pairs:FILE`, `hh_rlhf_pairs_*`).

The evaluated checkpoint is a REWARD model (sequence classification, one output), loaded as such for
these tasks only (`model_kind = "reward"`); every other task keeps the causal-LM check. Each pair asks
for two scores, r(prompt, chosen) and r(prompt, rejected), of `PAIR_FORMAT` text (the format the
`reward` recipe trains on). A sample is one pair: correct = r_chosen > r_rejected (a tie is wrong),
margin and Bradley-Terry loss (lmbench.metrics.pairs); results: pair_accuracy with a percentile-
bootstrap 95% CI, mean_margin, bt_loss.

- `pairs:FILE`: a paired_conversation / paired_text2text LMFlow dataset (prompts as lmbench.data.pairs
  renders them);
- `hh_rlhf_pairs_helpful` / `hh_rlhf_pairs_harmless`: the HH-RLHF test files of the data folder,
  converted by `lmbench.data.convert.hh_rlhf_pairs` (malformed dialogues skipped, as counted there).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lmbench.engine.requests import RewardRequest
from lmbench.tasks.protocol import PreparedTask, ResultRow, SampleRecord, TaskFamily, stable_hash, task_samples
from lmbench.tasks.registry import register, register_prefix

if TYPE_CHECKING:
    import pandas as pd

CITATION = "Bai et al., Training a Helpful and Harmless Assistant with RLHF, 2022 (HH-RLHF pairs)"


@dataclass(frozen=True)
class PairDoc:
    doc_id: str
    prompt: str
    chosen: str
    rejected: str

    @property
    def doc_hash(self) -> str:
        return hashlib.sha256(json.dumps([self.prompt, self.chosen, self.rejected]).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PairsTask(TaskFamily):
    name: str
    version: str = "1"
    path: str = ""  # pairs:FILE
    subset: str = ""  # hh-rlhf subset folder (helpful-base | harmless-base)
    family: str = "pairs"
    kind: str = "pairs"
    template: str = "{prompt} {response}"
    description: str = "reward model pair accuracy: r(prompt, chosen) > r(prompt, rejected)"
    citation: str = CITATION
    default_shots: int = 0

    metrics: ClassVar[tuple[str, ...]] = ("pair_accuracy", "mean_margin", "bt_loss")
    model_kind: ClassVar[str] = "reward"

    def load(self, root: Path | None) -> Any:
        from lmbench.data.pairs import dataset_pairs
        from lmbench.tasks.base import TaskData

        if self.subset:
            from lmbench.data.convert import hh_rlhf_pairs
            from lmbench.data.locate import missing_data

            relative = f"hh-rlhf/{self.subset}/test.jsonl.gz"
            if root is None or not (root / relative).is_file():
                raise missing_data(self.name, [relative])
            dataset = hh_rlhf_pairs(root / relative)
        else:
            from lmbench.data.lmflow import load_lmflow
            from lmbench.errors import TaskError

            if not Path(self.path).expanduser().exists():
                raise TaskError(f"pairs data {self.path!r} does not exist; use --tasks pairs:path/to/paired.json "
                                "(paired_conversation or paired_text2text)")
            dataset = load_lmflow(Path(self.path).expanduser())
        docs = [PairDoc(str(inst.get("conversation_id", inst.get("id", i))), p.prompt, p.chosen, p.rejected)
                for i, (inst, p) in enumerate(zip(dataset.instances, dataset_pairs(dataset)))]
        return TaskData(docs, [], list(dataset.files))  # type: ignore[arg-type]

    def prompt(self, doc: PairDoc, shot_docs: list) -> str:
        return doc.prompt

    def requests(self, prompt: str, doc: PairDoc) -> list[RewardRequest]:
        return [RewardRequest(prompt, doc.chosen), RewardRequest(prompt, doc.rejected)]

    def task_hash(self, data: Any, shots: int, file_digests: dict[str, str]) -> str:
        from lmbench.engine.reward import PAIR_FORMAT

        return stable_hash({"name": self.name, "version": self.version, "files": file_digests,
                            "pair_format": PAIR_FORMAT})

    def score(self, item: PreparedTask, docs: list[Any], prompts: list[str], outputs: list[list[Any]],
              ctx: Any) -> list[SampleRecord]:
        from lmbench.metrics.pairs import pair_scores

        records = []
        for doc, prompt, (r_chosen, r_rejected) in zip(docs, prompts, outputs):
            metrics = pair_scores(r_chosen, r_rejected)
            records.append(self.record(item, doc, prompt, target="chosen",
                                       prediction="chosen" if metrics["correct"] else "rejected",
                                       choices=[doc.chosen, doc.rejected], logprobs=[r_chosen, r_rejected],
                                       metrics=metrics))
        return records

    def aggregate(self, items: list[PreparedTask], samples: pd.DataFrame, seed: int) -> list[ResultRow]:
        from lmbench.metrics.pairs import pair_rows

        rows = []
        for item in items:
            mine = task_samples(samples, item.task.name)
            records = list(mine["metrics"]) if not mine.empty else []
            rows += [replace(ResultRow(**r), task_hash=item.task_hash) for r in pair_rows(item.task.name, records, seed)]
        return rows


def pairs_task(argument: str) -> PairsTask:
    return PairsTask(name=f"pairs:{argument}", path=argument)


register(PairsTask(name="hh_rlhf_pairs_helpful", subset="helpful-base"))
register(PairsTask(name="hh_rlhf_pairs_harmless", subset="harmless-base"))
register_prefix("pairs", pairs_task)
