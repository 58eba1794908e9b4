"""RAFT on a tiny model with an exactly computed reward (tests/raft_reward.py: share of digit characters).

The real effect: over 3 iterations the mean reward of FRESH samples (each iteration's samples come from
the policy fine-tuned by the iterations before) rises, for both strategies, and everything is recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lmbench.tuning.raft_select import Candidate, discard_reason, kept_hash, select_local, select_top
from raft_reward import digit_share, share

torch = pytest.importorskip("torch")
WORDS = "the of heart blood cell protein gene drug dose patient".split()


def _c(p: int, s: int, reward: float, text: str = "ok fine", why: str | None = None) -> Candidate:
    return Candidate(p, s, f"prompt {p}", text, reward, why)


def test_discard_rules() -> None:
    assert discard_reason("") == "empty" and discard_reason("   ") == "empty"
    assert discard_reason("a") == "short"
    assert discard_reason("see ### Human") == "substring"
    assert discard_reason("see # Human", substrings=()) is None
    assert discard_reason("no no no no no no no no yes") == "degenerate"
    assert discard_reason("no no no no yes yes yes yes") is None  # half is not more than half


def test_select_local_and_top() -> None:
    cands = [_c(0, 0, 0.1), _c(0, 1, 0.9, why="substring"), _c(0, 2, 0.5), _c(1, 0, 0.2), _c(1, 1, 0.2),
             _c(2, 0, 1.0, why="empty")]
    assert [(c.prompt_index, c.sample_index) for c in select_local(cands)] == [(0, 2), (1, 0)]  # prompt 2: none left
    top = select_top(cands, 0.5)  # int(6 * 0.5) = 3 of the 4 usable ones
    assert [(c.prompt_index, c.sample_index) for c in top] == [(0, 2), (1, 0), (1, 1)]
    assert kept_hash(top) == kept_hash(list(reversed(top))) != kept_hash(top[:2])


def test_reward_function_is_exact() -> None:
    assert share("a1 2b") == 0.5 and share("") == 0.0
    assert digit_share(["p", "q"], ["12", "ab"]) == [1.0, 0.0]


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(tmp: Path) -> tuple[Path, Path]:
    conv = [{"messages": [{"role": "user", "content": f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} {i}"},
                          {"role": "assistant", "content": "ok"}]} for i in range(64)]
    (tmp / "prompts.json").write_text(json.dumps({"type": "conversation", "instances": conv}))
    (tmp / "heldout.json").write_text(json.dumps({"type": "conversation", "instances": conv[:8]}))
    return tmp / "prompts.json", tmp / "heldout.json"


@pytest.mark.parametrize("strategy", ["local", "top"])
def test_raft_raises_the_reward_of_fresh_samples(strategy: str, tmp_path: Path, tiny_llama: Path,
                                                 one_thread: None) -> None:
    from lmbench.store import Store
    from lmbench.tuning.registry import load_recipe
    from lmbench.tuning.raft import run_raft

    prompts, heldout = _data(tmp_path)
    db = tmp_path / "db.duckdb"
    config = load_recipe("raft", [f"model={tiny_llama}", "reward_model=python:raft_reward:digit_share",
                                  f"data={prompts}", f"eval_data={heldout}", "eval_prompts=8", "iterations=3", "k=4",
                                  f"strategy={strategy}", "top_fraction=0.25", "prompts_per_iteration=16",
                                  "min_new_tokens=8", "max_new_tokens=12", "learning_rate=0.003", "epochs=2",
                                  "batch_size=8", f"output_dir={tmp_path / 'out'}", f"db={db}", "device=cpu",
                                  "seed=0", "discard_substrings=[]"])
    summary = run_raft(config)
    fresh = [row["reward_mean_all"] for row in summary["iterations"]]
    assert fresh[2] > fresh[0] + 0.02, fresh  # samples of the policy after 2 fine-tunes vs the base's
    assert all(row["reward_mean_kept"] > row["reward_mean_all"] for row in summary["iterations"])
    assert [row["n_kept"] for row in summary["iterations"]] == [16, 16, 16]
    held = summary["heldout_reward"]
    assert held[3] > held[0], held
    assert summary["best_iteration"] == max(held, key=lambda i: (held[i], i))
    assert (Path(summary["final"]) / "model.safetensors").is_file()
    assert (tmp_path / "out" / "reward_curve.png").stat().st_size > 1000
    with Store(db) as store:
        edges = store.query("SELECT child, parent, relation, detail FROM lineage WHERE relation = 'raft'")
        log = store.train_log(store.query("SELECT training_run_id FROM training_runs").iloc[0, 0])
    assert len(edges) == 3
    details = [json.loads(d) if isinstance(d, str) else d for d in edges["detail"]]
    assert sorted(d["iteration"] for d in details) == [1, 2, 3]
    assert {d["kept"] for d in details} == {row["kept_hash"] for row in summary["iterations"]}
    chain = dict(zip(edges["child"], edges["parent"]))
    assert summary["fingerprint"] in chain or summary["best_iteration"] == 0
    assert list(log["step"]) == [0, 1, 2, 3]


def test_raft_cli_prints_one_row_per_iteration(tmp_path: Path, tiny_llama: Path) -> None:
    """`lmbench tune raft` ends with the per-iteration table (reward of all / kept samples, held-out reward)."""
    from cli import run_cli  # tests/cli.py

    prompts, heldout = _data(tmp_path)
    result = run_cli("tune", "raft", f"model={tiny_llama}", "reward_model=python:raft_reward:digit_share",
                     f"data={prompts}", f"eval_data={heldout}", "eval_prompts=2", "iterations=2", "k=2",
                     "prompts_per_iteration=2", "min_new_tokens=2", "max_new_tokens=4", "batch_size=2",
                     f"output_dir={tmp_path / 'out'}", f"db={tmp_path / 'db.duckdb'}", "device=cpu", "seed=0",
                     "discard_substrings=[]", env={"PYTHONPATH": os.pathsep.join(
                         [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])})
    assert result.returncode == 0, result.stderr
    assert "per iteration (final = iteration" in result.stdout and "held-out reward at the start" in result.stdout
    assert "trained 2 iterations" in result.stdout and "None steps" not in result.stdout
