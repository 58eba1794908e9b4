"""The `reward` recipe on a tiny BERT (built from a config) and the `pairs:` task that measures it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
GOOD = "heart blood cell protein gene brain muscle".split()
BAD = "0 1 2 3 4 5 no maybe".split()


def _paired(path: Path, n: int, seed: int) -> Path:
    """paired_conversation: the chosen reply is medical words, the rejected one digits (separable)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        user = {"role": "user", "content": f"question {seed}-{i} about the body?"}
        rows.append({"chosen": {"messages": [user, {"role": "assistant", "content": " ".join(rng.choices(GOOD, k=4))}]},
                     "rejected": {"messages": [user, {"role": "assistant", "content": " ".join(rng.choices(BAD, k=4))}]}})
    path.write_text(json.dumps({"type": "paired_conversation", "instances": rows}))
    return path


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny import build_tokenizer
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    tok = build_tokenizer(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128,
                         pad_token_id=tok.pad_token_id)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from lmbench.tuning.registry import load_recipe
    from lmbench.tuning.reward_recipe import run_reward

    tmp = tmp_path_factory.mktemp("reward")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = load_recipe("reward", [f"model={tiny_bert}", f"data={_paired(tmp / 'train.json', 48, 0)}",
                                        f"eval_data={_paired(tmp / 'held.json', 32, 1)}", "epochs=3",
                                        "learning_rate=0.003", "head_learning_rate=0.03", "max_length=64", "logging_steps=2",
                                        f"output_dir={tmp / 'out'}", f"db={tmp / 'db.duckdb'}", "seed=0"])
        summary = run_reward(config)
    finally:
        torch.set_num_threads(n)
    return {"summary": summary, "tmp": tmp}


def test_heldout_pair_accuracy_clearly_above_chance(trained: dict) -> None:
    from transformers import AutoModelForSequenceClassification

    summary = trained["summary"]
    after = summary["heldout_after"]["pair_accuracy"]
    assert after["value"] >= 0.9 and after["ci_low"] > 0.5, after
    assert after["n"] == 32
    assert summary["heldout_after"]["bt_loss"]["value"] < summary["heldout_before"]["bt_loss"]["value"]
    final = Path(summary["final"])
    assert (final / "model.safetensors").is_file()
    assert AutoModelForSequenceClassification.from_pretrained(final).config.num_labels == 1
    assert json.loads((final / "lmbench_reward.json").read_text())["heldout_pair_accuracy_after"] == after["value"]


def test_reward_lineage_and_log(trained: dict) -> None:
    from lmbench.store import Store

    with Store(trained["tmp"] / "db.duckdb") as store:
        edges = store.query("SELECT child, relation FROM lineage")
        run = store.query("SELECT training_run_id, status, candidate_fingerprint FROM training_runs")
        log = store.train_log(run.iloc[0, 0])
    assert list(edges["relation"]) == ["reward"]
    assert run.iloc[0, 1] == "done" and run.iloc[0, 2] == trained["summary"]["fingerprint"] == edges.iloc[0, 0]
    assert 0 in set(log["step"]) and len(log) >= 9  # step 0 + 18 steps logged every 2


def test_pairs_task_agrees_with_direct_scoring(trained: dict) -> None:
    """`lmbench eval RM --tasks pairs:FILE`: the same accuracy and per-pair rewards as RewardScorer directly."""
    from cli import run_cli  # tests/cli.py

    from lmbench.data.pairs import load_pairs
    from lmbench.engine.reward import RewardScorer, score_pairs
    from lmbench.store import Store

    tmp, final = trained["tmp"], trained["summary"]["final"]
    held = tmp / "held.json"
    db = tmp / "eval.duckdb"
    result = run_cli("eval", final, "--tasks", f"pairs:{held}", "--db", str(db), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    chosen, rejected = score_pairs(RewardScorer(final), load_pairs(held)[0])
    with Store(db) as store:
        results = store.results()
        samples = store.samples()
    acc = results.loc[results["metric"] == "pair_accuracy", "value"].iloc[0]
    assert acc == pytest.approx(sum(c > r for c, r in zip(chosen, rejected)) / len(chosen))
    got = {int(d): list(x) for d, x in zip(samples["doc_id"], samples["logprobs"])}  # per pair: [r_chosen, r_rejected]
    assert sorted(got) == list(range(len(chosen)))
    flat = [v for i in sorted(got) for v in got[i]]
    assert flat == pytest.approx([v for c, r in zip(chosen, rejected) for v in (c, r)], abs=1e-5)


def test_one_reward_identity_for_recipe_eval_and_generation(trained: dict) -> None:
    """The reward recipe's candidate, `lmbench eval RM --tasks pairs:` and the reward of a generation task are one
    model: one fingerprint, so `lmbench models` and lineage show it once."""
    from lmbench.engine.reward import reward_fingerprint
    from lmbench.models.reward_loader import inspect_reward

    final = trained["summary"]["final"]
    recorded = trained["summary"]["fingerprint"]
    assert inspect_reward(str(final)).fingerprint == recorded
    assert reward_fingerprint(final) == recorded
    assert inspect_reward(str(final), max_length=32).fingerprint != recorded  # scored length is part of it


def test_hh_rlhf_pairs_task_on_the_data_folder(trained: dict, shared_data: Path) -> None:
    from cli import run_cli

    from lmbench.data.convert import hh_rlhf_pairs
    from lmbench.data.pairs import dataset_pairs
    from lmbench.engine.reward import RewardScorer, score_pairs
    from lmbench.store import Store

    db = trained["tmp"] / "hh.duckdb"
    result = run_cli("eval", trained["summary"]["final"], "--tasks", "hh_rlhf_pairs_helpful", "--limit", "6",
                     "--data-dir", str(shared_data), "--db", str(db), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    pairs = dataset_pairs(hh_rlhf_pairs(shared_data / "hh-rlhf" / "helpful-base" / "test.jsonl.gz", limit=6))
    chosen, rejected = score_pairs(RewardScorer(trained["summary"]["final"]), pairs)
    with Store(db) as store:
        rows = store.results()
    acc = rows.loc[rows["metric"] == "pair_accuracy"].iloc[0]
    assert acc["n"] == 6 and acc["value"] == pytest.approx(sum(c > r for c, r in zip(chosen, rejected)) / 6)
