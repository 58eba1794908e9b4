"""`lmbench data check`: what a dataset becomes under a tokenizer and template, before any training.

text_only data is counted as continued pretraining sees it (tokens, EOS-joined, `block_size` blocks);
text2text and conversation data as SFT sees it (tokens and trained tokens per example, examples cut at
`max_length`, examples with nothing left to train). The first instance is rendered as token spans with
the trained ones marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmbench.data.lmflow import LMFlowDataset
from lmbench.errors import DataError


@dataclass
class DataReport:
    path: str
    type: str
    rows: int
    stats: dict[str, Any]
    first: list[tuple[str, bool]] = field(default_factory=list)  # (decoded token text, trained) of instance 0


def _spans(tokenizer: Any, ids: list[int], trained: list[bool]) -> list[tuple[str, bool]]:
    """Consecutive tokens with the same mark, decoded together."""
    spans: list[tuple[str, bool]] = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or trained[i] != trained[start]:
            spans.append((tokenizer.decode(ids[start:i]), trained[start]))
            start = i
    return spans


def check_dataset(dataset: LMFlowDataset, path: str, tokenizer: Any, template: str, max_length: int,
                  block_size: int, truncation: str = "left") -> DataReport:
    """Counts and the first rendered instance of one dataset (see the module docstring)."""
    if dataset.type == "text_only":
        lengths = [len(tokenizer.encode(inst["text"], add_special_tokens=False)) + 1 for inst in dataset.instances]
        total = sum(lengths)
        ids = tokenizer.encode(dataset.instances[0]["text"], add_special_tokens=False)
        stats = {"objective": "pretrain", "tokens (EOS-joined)": total, "block_size": block_size,
                 "blocks": total // block_size, "tokens dropped (last partial block)": total % block_size}
        return DataReport(path, dataset.type, len(dataset), stats, _spans(tokenizer, ids, [True] * len(ids)))
    if dataset.type not in ("text2text", "conversation"):
        raise DataError(f"{path}: type {dataset.type} holds preference pairs; `data check` covers text_only, "
                        "text2text and conversation data (pairs train reward models and DPO)")
    from lmbench.tuning.sft_data import IGNORE, encode_example, instance_input

    tokens = trained = cut = empty = 0
    first: list[tuple[str, bool]] = []
    for index, inst in enumerate(dataset.instances):
        full = encode_example(tokenizer, instance_input(dataset.type, inst), template, 10**9)
        kept = encode_example(tokenizer, instance_input(dataset.type, inst), template, max_length,
                              truncation)["labels"]
        tokens += min(len(full["input_ids"]), max_length)
        trained += sum(1 for label in kept if label != IGNORE)
        cut += len(full["input_ids"]) > max_length
        empty += all(label == IGNORE for label in kept)
        if index == 0:
            first = _spans(tokenizer, full["input_ids"], [label != IGNORE for label in full["labels"]])
    stats = {"objective": "sft", "template": template, "max_length": max_length, "truncation": truncation,
             "tokens": tokens,
             "trained tokens": trained, "examples cut at max_length": cut, "examples with nothing to train": empty}
    return DataReport(path, dataset.type, len(dataset), stats, first)
