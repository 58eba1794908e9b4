"""`lmbench data convert` and `lmbench data check`."""

from __future__ import annotations

import json
from pathlib import Path

from cli import run_cli

from lmbench.data.lmflow import load_lmflow


def test_convert_pubmedqa_splits_and_fields(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "pubmedqa" / "ori_pqal.json"
    test_ids = set(json.loads((shared_data / "pubmedqa" / "test_ground_truth.json").read_text()))
    train = tmp_path / "train.json"
    done = run_cli("data", "convert", "pubmedqa", str(src), "--split", "train", "--field", "decision", "--out", str(train))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {train}: 500 text2text instances"
    dataset = load_lmflow(train)
    assert not {inst["id"] for inst in dataset.instances} & test_ids  # outside the official test split
    first = dataset.instances[0]
    assert first["input"].startswith("Abstract: ") and first["input"].endswith("\nAnswer:")
    assert first["output"] in (" yes", " no", " maybe")
    abstracts = tmp_path / "abstracts.jsonl"
    done = run_cli("data", "convert", "pubmedqa", str(src), "--split", "test", "--field", "abstracts", "--limit", "3",
                   "--out", str(abstracts))
    assert done.returncode == 0, done.stderr
    rows = load_lmflow(abstracts)
    assert rows.type == "text_only" and len(rows) == 3 and {r["id"] for r in rows.instances} <= test_ids
    again = run_cli("data", "convert", "pubmedqa", str(src), "--out", str(train))  # lmbench wrote it: replaced
    assert again.returncode == 0 and "1000 text2text" in again.stdout


def test_convert_refuses_foreign_file_and_input(tmp_path: Path) -> None:
    src = tmp_path / "hh.jsonl"
    src.write_text(json.dumps({"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go"}) + "\n")
    mine = tmp_path / "mine.json"
    mine.write_text("keep me")
    refused = run_cli("data", "convert", "hh-rlhf", str(src), "--out", str(mine))
    assert refused.returncode == 2 and "was not written by lmbench" in refused.stderr and mine.read_text() == "keep me"
    refused = run_cli("data", "convert", "hh-rlhf", str(src), "--out", str(src))
    assert refused.returncode == 2 and "input" in refused.stderr
    pairs = tmp_path / "pairs.json"
    done = run_cli("data", "convert", "hh-rlhf", str(src), "--field", "pairs", "--out", str(pairs))
    assert done.returncode == 0 and load_lmflow(pairs).type == "paired_conversation"


def test_check_marks_trained_tokens(tmp_path: Path, tiny_llama: Path) -> None:
    data = tmp_path / "sft.json"
    data.write_text(json.dumps({"type": "text2text", "instances": [
        {"input": "Which organ pumps blood?", "output": "The heart."}, {"input": "x " * 300, "output": "y"}]}))
    done = run_cli("data", "check", str(data), "--model", str(tiny_llama), "--max-length", "64")
    assert done.returncode == 0, done.stderr
    assert f"{data}: text2text, 2 rows" in done.stdout
    assert "examples cut at max_length: 1" in done.stdout and "examples with nothing to train: 0" in done.stdout
    right = run_cli("data", "check", str(data), "--model", str(tiny_llama), "--max-length", "64", "--truncation", "right")
    assert right.returncode == 0, right.stderr
    assert "examples cut at max_length: 1" in right.stdout and "examples with nothing to train: 1" in right.stdout
    bad = run_cli("data", "check", str(data), "--model", str(tiny_llama), "--truncation", "middle")
    assert bad.returncode == 2 and "--truncation 'middle' is not left or right" in bad.stderr
    assert "###Human: Which organ pumps blood?###Assistant:«The heart.»" in done.stdout
