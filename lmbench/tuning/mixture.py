"""Training data of a recipe: each `data` entry loaded, type-checked for the objective, hashed and mixed.

Mixing (Robin mixed three sets): with `weights`, one epoch of the mixture holds N = the total number of
instances, of which dataset i contributes round(N * w_i / sum(w)) drawn with a seeded shuffle (whole passes
first, so a weight above its share repeats instances). Without weights every instance is used once.
The mixture (files, content hashes, rows, weights, rows drawn) is recorded in the candidate's lineage.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from lmbench.data.lmflow import LMFlowDataset, load_lmflow
from lmbench.errors import DataError, LmbenchError
from lmbench.tuning.identity_data import identity_dataset
from lmbench.tuning.lm_config import IDENTITY_DATA, TuneConfig

OBJECTIVE_TYPES = {"pretrain": ("text_only",), "sft": ("text2text", "conversation")}


@dataclass(frozen=True)
class Part:
    entry: str
    dataset: LMFlowDataset
    content_hash: str
    weight: float | None
    drawn: int = 0

    def record(self) -> dict:
        return {"data": self.entry, "type": self.dataset.type, "rows": len(self.dataset), "hash": self.content_hash,
                "weight": self.weight, "drawn": self.drawn}


def dataset_hash(dataset: LMFlowDataset) -> str:
    """Content hash of the normalised instances (16 hex): the same data in .json or .jsonl hashes the same."""
    blob = json.dumps({"type": dataset.type, "instances": dataset.instances}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_parts(config: TuneConfig) -> tuple[list[Part], list[str]]:
    """Every data entry loaded and checked against the objective; (parts, problems)."""
    parts, problems = [], []
    allowed = OBJECTIVE_TYPES[config.objective]
    for index, entry in enumerate(config.data):
        try:
            dataset = (identity_dataset(config.model_name, config.maker, config.identity_rows)
                       if entry == IDENTITY_DATA else load_lmflow(Path(entry).expanduser()))
        except LmbenchError as exc:
            problems.append(str(exc))
            continue
        if dataset.type not in allowed:
            other = "sft" if config.objective == "pretrain" else "pretrain"
            fits = dataset.type in OBJECTIVE_TYPES[other]
            fix = f"use objective={other} (recipe {'sft-full' if other == 'sft' else 'pretrain'})" if fits else \
                "convert it (`lmbench data convert`)"
            problems.append(f"data {entry!r} is {dataset.type} but objective={config.objective} needs "
                            f"{' or '.join(allowed)}; {fix}")
            continue
        weight = config.weights[index] if config.weights else None
        parts.append(Part(entry, dataset, dataset_hash(dataset), weight))
    return parts, problems


def mix(parts: list[Part], seed: int) -> tuple[list[tuple[str, dict]], list[Part]]:
    """(dataset type, instance) rows of one mixture epoch, and the parts with `drawn` filled in."""
    if not parts:
        raise DataError("no training data; give data=FILE")
    total = sum(len(p.dataset) for p in parts)
    weights = [p.weight for p in parts]
    rng = random.Random(seed)
    rows: list[tuple[str, dict]] = []
    done = []
    for part, weight in zip(parts, weights, strict=True):
        instances = part.dataset.instances
        if weight is None:
            chosen = list(instances)
        else:
            want = round(total * weight / sum(w for w in weights if w))
            chosen = []
            while len(chosen) < want:
                order = list(range(len(instances)))
                rng.shuffle(order)
                chosen += [instances[i] for i in order[: want - len(chosen)]]
        rows += [(part.dataset.type, inst) for inst in chosen]
        done.append(Part(part.entry, part.dataset, part.content_hash, weight, len(chosen)))
    if weights[0] is not None:
        rng.shuffle(rows)
    return rows, done
