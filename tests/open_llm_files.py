"""Local stand-ins for the Open LLM Leaderboard v1 data, in the Hub datasets' own schemas (see lmbench.harness.local_data).

The real ARC-Challenge, HellaSwag and TruthfulQA are not reachable here, so tests write a few synthetic
rows with exactly the fields the harness's YAMLs read; MMLU is lmbench's own task and gets synthetic
CSVs for all 57 subjects in the MMLU release layout. The numbers they give mean nothing: they prove the
plumbing (shots, metrics, average), not the model.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from lmbench.tasks.mmlu import SUBJECTS

WORDS = ["river", "stone", "cloud", "engine", "violin", "garden", "planet", "ladder", "candle", "mirror"]


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)


def _arc(i: int) -> dict:
    options = [WORDS[(i + k) % 10] for k in range(4)]
    return {"id": f"arc-{i}", "question": f"Which word names thing number {i}?",
            "choices": {"text": options, "label": ["A", "B", "C", "D"]}, "answerKey": "ABCD"[i % 4]}


def _hellaswag(i: int) -> dict:
    return {"ind": i, "activity_label": "Gardening", "ctx_a": f"A person carries a {WORDS[i % 10]} outside.",
            "ctx_b": "then they", "ctx": f"A person carries a {WORDS[i % 10]} outside. then they",
            "endings": [f"put the {WORDS[(i + k) % 10]} down." for k in range(4)], "source_id": f"s{i}",
            "split": "val", "split_type": "indomain", "label": str(i % 4)}


def _truthfulqa(i: int) -> dict:
    answers = [f"It is a {WORDS[(i + k) % 10]}." for k in range(4)]
    return {"question": f"What is object {i} really?",
            "mc1_targets": {"choices": answers, "labels": [1, 0, 0, 0]},
            "mc2_targets": {"choices": answers, "labels": [1, 1, 0, 0]}}


def write_open_llm_files(root: Path, n: int = 30) -> Path:
    """DATA folder with hf/<dataset>/<config>/<split>.jsonl copies and mmlu/{dev,test}/*.csv; returns root."""
    arc = root / "hf" / "allenai" / "ai2_arc" / "ARC-Challenge"
    for split in ("train", "validation", "test"):
        _jsonl(arc / f"{split}.jsonl", [_arc(i) for i in range(n)])
    hellaswag = root / "hf" / "Rowan" / "hellaswag" / "default"
    for split in ("train", "validation"):
        _jsonl(hellaswag / f"{split}.jsonl", [_hellaswag(i) for i in range(n)])
    _jsonl(root / "hf" / "truthfulqa" / "truthful_qa" / "multiple_choice" / "validation.jsonl",
           [_truthfulqa(i) for i in range(n)])
    for split, count in (("dev", 5), ("test", 3)):
        folder = root / "mmlu" / split
        folder.mkdir(parents=True, exist_ok=True)
        for subject in SUBJECTS:
            with (folder / f"{subject}_{split}.csv").open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                for i in range(count):
                    writer.writerow([f"In {subject.replace('_', ' ')}, what is item {i}?",
                                     *[WORDS[(i + k) % 10] for k in range(4)], "ABCD"[i % 4]])
    return root
