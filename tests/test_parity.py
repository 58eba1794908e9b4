"""Parity with lm-evaluation-harness: same prompts, same per-choice log-likelihoods, same predictions.

The harness side is the installed lm_eval with HFLM and its own task YAMLs pointed at the same local files
(lmbench.parity.harness_reference). Tiny model here; the real SmolLM2 in the slow tier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lmbench.runner import EvalConfig, evaluate

TASKS = {"mmlu_anatomy": 5, "medmcqa": 0, "pubmedqa": 0}
LIMIT = 50
TOLERANCE = 1e-4


def assert_parity(model_dir: Path, data: Path, db: Path, harness_batch: int) -> float:
    from lmbench.parity.harness_reference import run_harness

    outcome = evaluate(EvalConfig(checkpoint=str(model_dir), tasks=",".join(TASKS), limit=LIMIT, data_dir=str(data),
                                  db=str(db), progress=False))
    worst = 0.0
    for task, shots in TASKS.items():
        ours = outcome.samples[outcome.samples["task"] == task].reset_index(drop=True)
        theirs = run_harness(str(model_dir), task, data, shots=shots, limit=LIMIT, batch_size=harness_batch)
        assert len(ours) == len(theirs.samples) == LIMIT
        for ref, (_, row) in zip(theirs.samples, ours.iterrows()):
            assert row["prompt"] == ref.prompt, f"{task} doc {ref.doc_index}: prompts differ"
            diffs = [abs(a - b) for a, b in zip(row["logprobs"], ref.loglikelihoods)]
            worst = max(worst, *diffs)
            assert max(diffs) < TOLERANCE, f"{task} doc {ref.doc_index}: {row['logprobs']} vs {ref.loglikelihoods}"
            assert row["prediction"] == row["choices"][ref.pred], f"{task} doc {ref.doc_index}: predictions differ"
        acc = ours["metrics"].map(lambda m: m["acc"]).mean()
        assert acc == pytest.approx(theirs.metrics["acc"])
        assert ours["metrics"].map(lambda m: m["acc_norm"]).mean() == pytest.approx(theirs.metrics["acc_norm"])
    return worst


def test_parity_with_lm_eval_tiny_model(tiny_llama, shared_data, tmp_path):
    worst = assert_parity(tiny_llama, shared_data, tmp_path / "parity.duckdb", harness_batch=8)
    print(f"largest |logprob difference| lmbench vs lm-eval (tiny llama): {worst:.2e}")


@pytest.mark.slow
def test_parity_with_lm_eval_smollm2(smollm2_dir, shared_data, tmp_path):
    worst = assert_parity(smollm2_dir, shared_data, tmp_path / "parity.duckdb", harness_batch=8)
    print(f"largest |logprob difference| lmbench vs lm-eval (SmolLM2-135M-Instruct): {worst:.2e}")
