"""Batch sizes 1, 4 and 32 give the same predictions and log-likelihoods within 1e-4."""

from __future__ import annotations

import pytest

from lmbench.runner import EvalConfig, evaluate

TOLERANCE = 1e-4


def largest_difference(model_dir, data, tmp_path, tasks: str, limit: int) -> float:
    runs = {}
    for batch_size in ("1", "4", "32"):
        outcome = evaluate(EvalConfig(checkpoint=str(model_dir), tasks=tasks, limit=limit, data_dir=str(data),
                                      batch_size=batch_size, db=str(tmp_path / "b.duckdb"), progress=False,
                                      force=True))
        runs[batch_size] = outcome.samples
    base = runs["1"]
    worst = 0.0
    for other in ("4", "32"):
        assert list(runs[other]["prediction"]) == list(base["prediction"]), f"batch {other} changed a prediction"
        for a, b in zip(base["logprobs"], runs[other]["logprobs"]):
            worst = max(worst, *(abs(x - y) for x, y in zip(a, b)))
    assert worst < TOLERANCE, worst
    return worst


def test_batch_invariance_tiny(tiny_llama, shared_data, tmp_path):
    worst = largest_difference(tiny_llama, shared_data, tmp_path, "mmlu_anatomy,medmcqa,pubmedqa", limit=20)
    print(f"largest |logprob difference| across batch sizes 1/4/32 (tiny llama): {worst:.2e}")


@pytest.mark.slow
def test_batch_invariance_smollm2(smollm2_dir, shared_data, tmp_path):
    worst = largest_difference(smollm2_dir, shared_data, tmp_path, "mmlu_anatomy,medmcqa,pubmedqa", limit=10)
    print(f"largest |logprob difference| across batch sizes 1/4/32 (SmolLM2-135M-Instruct): {worst:.2e}")
