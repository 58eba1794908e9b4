"""The TRL baselines of [10] on a tiny model: DPO moves the policy towards the chosen replies, RLOO runs its
iterations on an exact reward; both save output_dir/final, register lineage and log every step."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli import run_cli  # tests/cli.py

torch = pytest.importorskip("torch")
WORDS = "the of heart blood cell protein gene drug dose patient".split()


def _pairs(path: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        user = {"role": "user", "content": f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]}"}
        rows.append({"chosen": {"messages": [user, {"role": "assistant", "content": "1 2 3 4"}]},
                     "rejected": {"messages": [user, {"role": "assistant", "content": "the of the of"}]}})
    path.write_text(json.dumps({"type": "paired_conversation", "instances": rows}))
    return path


def _margin(folder: Path, pairs: Path) -> float:
    """Mean log p(chosen reply) - log p(rejected reply) under the model in `folder` (reply tokens only)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lmbench.data.pairs import load_pairs

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()

    def logp(prompt: str, reply: str) -> float:
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        r = tok(reply, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p + r])
        with torch.no_grad():
            logits = model(ids).logits.log_softmax(-1)[0, len(p) - 1:-1]
        return float(logits.gather(1, torch.tensor(r)[:, None]).sum())

    items = load_pairs(pairs)[0]
    return sum(logp(x.prompt, x.chosen) - logp(x.prompt, x.rejected) for x in items) / len(items)


def _lineage(db: Path, relation: str):
    from lmbench.store import Store

    with Store(db) as store:
        edges = store.query(f"SELECT child, parent FROM lineage WHERE relation = '{relation}'")
        run = store.query("SELECT training_run_id, status FROM training_runs")
        log = store.train_log(run.iloc[-1, 0])
    return edges, run, log


def test_dpo_prefers_the_chosen_replies(tmp_path: Path, tiny_llama: Path) -> None:
    from lmbench.models.loader import inspect_checkpoint

    pairs = _pairs(tmp_path / "pairs.json", 16)
    db = tmp_path / "db.duckdb"
    result = run_cli("tune", "dpo", f"model={tiny_llama}", f"data={pairs}", "max_steps=8", "batch_size=4",
                     "learning_rate=0.001", "max_length=64", "logging_steps=1", "beta=0.1", "device=cpu",
                     f"output_dir={tmp_path / 'dpo'}", f"db={db}", "seed=0")
    assert result.returncode == 0, result.stderr[-3000:]
    final = tmp_path / "dpo" / "final"
    assert _margin(final, pairs) > _margin(tiny_llama, pairs) + 1.0
    edges, run, log = _lineage(db, "dpo")
    assert list(run["status"]) == ["done"]
    assert list(edges["parent"]) == [inspect_checkpoint(str(tiny_llama)).fingerprint]
    assert list(edges["child"]) == [inspect_checkpoint(str(final)).fingerprint]
    assert list(log["step"]) == list(range(1, 9))


def test_rloo_runs_its_iterations_on_the_reward(tmp_path: Path, tiny_llama: Path) -> None:
    prompts = tmp_path / "prompts.json"
    conv = [{"messages": [{"role": "user", "content": f"{WORDS[i % 10]} {i}"},
                          {"role": "assistant", "content": "ok"}]} for i in range(8)]
    prompts.write_text(json.dumps({"type": "conversation", "instances": conv}))
    db = tmp_path / "db.duckdb"
    result = run_cli("tune", "rloo", f"model={tiny_llama}", "reward_model=python:raft_reward:digit_share",
                     f"data={prompts}", "iterations=2", "k=2", "prompts_per_iteration=2", "micro_batch=2",
                     "max_new_tokens=6", "learning_rate=0.001", "device=cpu", f"output_dir={tmp_path / 'rloo'}",
                     f"db={db}", "seed=0",
                     env={"PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "rloo" / "final" / "model.safetensors").is_file()
    edges, run, log = _lineage(db, "rlhf")  # the online-RL relation; detail.method = rloo
    assert list(run["status"]) == ["done"] and len(edges) == 1
    assert list(log["step"]) == [1, 2]
