"""The open_llm_v1 suite (LMFlow Table 4) from local data copies, and its input errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli import run_cli
from lmbench.runner import EvalConfig, evaluate
from open_llm_files import write_open_llm_files


@pytest.fixture(scope="module")
def open_llm_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    return write_open_llm_files(tmp_path_factory.mktemp("open_llm_data"))


def test_open_llm_v1_shots_metrics_and_average(tiny_llama: Path, open_llm_data: Path, tmp_path: Path) -> None:
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="open_llm_v1", data_dir=str(open_llm_data),
                                  limit=2, db=str(tmp_path / "r.duckdb"), progress=False))
    values = {(r.task, r.metric): r.value for r in outcome.results.itertuples()}
    headline = [values[("lm_eval:arc_challenge", "acc_norm")], values[("lm_eval:hellaswag", "acc_norm")],
                values[("mmlu", "acc_macro")], values[("lm_eval:truthfulqa_mc2", "acc")]]
    assert values[("open_llm_v1", "average")] == pytest.approx(sum(headline) / 4)
    prompts = outcome.samples.groupby("task")["prompt"].first()
    assert prompts["lm_eval:arc_challenge"].count("Question:") == 26  # 25 shots + the question
    assert prompts["lm_eval:hellaswag"].count("Gardening:") == 11  # 10 shots + the question
    assert prompts["mmlu_anatomy"].count("Answer:") == 6  # 5 shots + the question
    assert prompts["lm_eval:truthfulqa_mc2"].count("Q: What is object") == 1  # 0 shots (the fixed primer only)
    mc2 = outcome.samples[outcome.samples["task"] == "lm_eval:truthfulqa_mc2"]
    assert all(0.0 <= m["acc"] <= 1.0 for m in mc2["metrics"])  # MC2: probability mass on the true answers


def test_missing_local_copy_offline_names_the_files(tiny_llama: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    done = run_cli("eval", str(tiny_llama), "--tasks", "lm_eval:arc_challenge", "--data-dir", str(tmp_path / "data"),
                "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "hf/allenai/ai2_arc/ARC-Challenge/test.jsonl" in done.stderr and "local copy" in done.stderr


def test_partial_local_copy_is_refused(tiny_llama: Path, open_llm_data: Path, tmp_path: Path) -> None:
    partial = tmp_path / "data" / "hf" / "allenai" / "ai2_arc" / "ARC-Challenge"
    partial.mkdir(parents=True)
    (partial / "test.jsonl").write_text((open_llm_data / "hf/allenai/ai2_arc/ARC-Challenge/test.jsonl").read_text())
    done = run_cli("eval", str(tiny_llama), "--tasks", "lm_eval:arc_challenge", "--data-dir", str(tmp_path / "data"),
                "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2 and "incomplete" in done.stderr and "train.jsonl" in done.stderr


def test_suite_shots_cannot_be_overridden(tiny_llama: Path, open_llm_data: Path, tmp_path: Path) -> None:
    done = run_cli("eval", str(tiny_llama), "--tasks", "open_llm_v1", "--shots", "3", "--data-dir", str(open_llm_data),
                "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2 and "--shots cannot change suite 'open_llm_v1'" in done.stderr
