"""The README's main job: `lmbench eval` with no argument scores the real default model on the built-in sample."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_default_eval_prints_table_and_writes_database(smollm2_dir, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "lmbench", "eval"], cwd=tmp_path, capture_output=True, text=True,
                            env=env, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "lmbench_sample" in result.stdout and "acc_norm" in result.stdout
    from lmbench.store import Store

    with Store(tmp_path / "lmbench.duckdb", read_only=True) as store:
        runs, samples = store.runs(), store.samples()
        models = store.models()
    assert list(runs["status"]) == ["done"]
    assert len(samples) >= 20 and all(len(lp) == 4 for lp in samples["logprobs"])
    assert models["name"].iloc[0] == "SmolLM2-135M-Instruct" and models["n_params"].iloc[0] > 134_000_000
    accuracy = sum(m["acc"] for m in samples["metrics"]) / len(samples)
    assert accuracy > 0.25, "a real instruct model should beat chance on the easy built-in questions"
