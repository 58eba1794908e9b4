"""Preference pairs and alignment prompts from LMFlow datasets, as reward models and RAFT see them.

A conversation prompt is rendered in the HH-RLHF dialogue format, `"\\n\\nHuman: {u}\\n\\nAssistant: {a}..."`
ending with `"\\n\\nAssistant:"` (a system prompt, if any, first), the exact prompts of the `hh_rlhf_*`
generation tasks; a text2text / paired_text2text prompt is its `input` / `prompt` as is. A reward model
scores `PAIR_FORMAT` (lmbench.engine.reward) of (prompt, response), in training and in evaluation alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lmbench.data.lmflow import LMFlowDataset, load_lmflow
from lmbench.errors import DataError

PAIRED_TYPES = ("paired_conversation", "paired_text2text")
PROMPT_TYPES = ("conversation", "text2text", "paired_conversation", "paired_text2text")


@dataclass(frozen=True)
class Pair:
    prompt: str
    chosen: str
    rejected: str

    @property
    def pair_hash(self) -> str:
        return hashlib.sha256(json.dumps([self.prompt, self.chosen, self.rejected]).encode()).hexdigest()[:16]


def hh_prompt(messages: list[dict], system: str = "") -> str:
    """HH-RLHF dialogue text of `messages` (user/assistant turns), ending with the Assistant marker."""
    parts = [system] if system else []
    for m in messages:
        parts.append(f"\n\n{'Human' if m['role'] == 'user' else 'Assistant'}: {m['content']}")
    return "".join(parts) + "\n\nAssistant:"


def _split(conversation: dict, system: str) -> tuple[str, str]:
    messages = conversation["messages"]
    return hh_prompt(messages[:-1], system), messages[-1]["content"]


def dataset_pairs(dataset: LMFlowDataset) -> list[Pair]:
    """(prompt, chosen, rejected) of every instance of a paired dataset."""
    if dataset.type not in PAIRED_TYPES:
        where = dataset.files[0] if dataset.files else "dataset"
        raise DataError(f"{where}: preference pairs need paired_conversation or paired_text2text data, got "
                        f"{dataset.type}; convert HH-RLHF with `lmbench data convert hh-rlhf` (pairs)")
    pairs = []
    for inst in dataset.instances:
        if dataset.type == "paired_text2text":
            pairs.append(Pair(inst["prompt"], inst["chosen"], inst["rejected"]))
        else:
            prompt, chosen = _split(inst["chosen"], inst.get("system", ""))
            pairs.append(Pair(prompt, chosen, _split(inst["rejected"], inst.get("system", ""))[1]))
    return pairs


def dataset_prompts(dataset: LMFlowDataset) -> list[str]:
    """Generation prompts: every turn before the last assistant reply, a text2text input, a pair's prompt."""
    if dataset.type == "conversation":
        return [hh_prompt(inst["messages"][:-1], inst.get("system", "")) for inst in dataset.instances]
    if dataset.type == "text2text":
        return [inst["input"] for inst in dataset.instances]
    if dataset.type in PAIRED_TYPES:
        return [p.prompt for p in dataset_pairs(dataset)]
    where = dataset.files[0] if dataset.files else "dataset"
    raise DataError(f"{where}: prompts need {', '.join(PROMPT_TYPES)} data, got {dataset.type}")


def load_pairs(path: str | Path) -> tuple[list[Pair], LMFlowDataset]:
    dataset = load_lmflow(path)
    return dataset_pairs(dataset), dataset
