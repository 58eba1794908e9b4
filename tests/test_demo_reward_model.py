"""scripts/train_demo_reward_model.py: Bradley-Terry training on a tiny BERT built from a config."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

torch = pytest.importorskip("torch")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_demo_reward_model.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_demo_reward_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GOOD = ["the heart pumps blood", "a protein in the cell", "take the drug dose", "blood in the heart",
        "the cell protein gene", "drug dose for the patient", "the brain and nerve", "muscle and bone"]
BAD = ["no no no", "maybe no", "0 1 2 3", "no maybe", "3 2 1 0", "maybe maybe", "1 0 no", "no 2 maybe"]


def _pairs(ids: range, good: list[str], bad: list[str]) -> list[tuple[str, str]]:
    """HH-format dialogues whose chosen/rejected differ only in the final response."""
    return [(f"\n\nHuman: question {i} about anatomy?\n\nAssistant: {good[k % len(good)]}",
             f"\n\nHuman: question {i} about anatomy?\n\nAssistant: {bad[(5 * k + 1) % len(bad)]}")
            for k, i in enumerate(ids)]


# Training and held-out pairs share no prompt and no response: held-out accuracy measures learning.
TRAIN = _pairs(range(24), GOOD[:3] + GOOD[6:7], BAD[:3] + BAD[6:7])
HELD_OUT = _pairs(range(100, 124), GOOD[3:6] + GOOD[7:], BAD[3:6] + BAD[7:])


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny matmuls: one thread avoids oversubscription when other work shares the 2 cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_train_tiny_bert_reward_model(tmp_path: Path, one_thread: None) -> None:
    from tiny import build_tokenizer
    from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification

    mod = _load_script()
    tok = build_tokenizer(tmp_path / "tok")
    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id,
                     num_labels=1)
    model = BertForSequenceClassification(cfg)
    before = mod.evaluate(model, tok, HELD_OUT, max_length=64)
    losses = mod.train_reward_model(model, tok, TRAIN, epochs=8, lr=3e-3, head_lr=3e-2, batch_size=8,
                                    max_length=64, seed=0)
    after = mod.evaluate(model, tok, HELD_OUT, max_length=64)
    assert len(losses) == 24
    assert tok.truncation_side == "left"
    # Measured with exactly this setup for torch.manual_seed(s), s = 0..9: held-out accuracy before training
    # 0.0-1.0 (random init, loss ln 2), after 1.0 for every seed (loss < 0.001). Seed 1 starts at 0.42.
    assert before["accuracy"] < 0.6 and before["loss"] == pytest.approx(math.log(2), abs=0.05), before
    assert after["accuracy"] >= 0.9 and after["accuracy"] >= before["accuracy"] + 0.3, (before, after)
    assert after["loss"] < 0.2, after
    assert sum(losses[-4:]) < sum(losses[:4])

    out = mod.save_reward_model(model, tok, tmp_path / "rm", {"accuracy_after": after["accuracy"]})
    reloaded = AutoModelForSequenceClassification.from_pretrained(out)
    assert reloaded.config.num_labels == 1
    assert json.loads((out / "lmbench_reward.json").read_text())["accuracy_after"] == after["accuracy"]
    reloaded.eval()
    again = mod.evaluate(reloaded, tok, HELD_OUT, max_length=64)
    assert again["loss"] == pytest.approx(after["loss"], abs=1e-5)


def test_load_pairs_skips_ties(tmp_path: Path) -> None:
    mod = _load_script()
    rows = [{"chosen": "a", "rejected": "b"}, {"chosen": "same", "rejected": "same"}, {"chosen": "c", "rejected": "d"}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert mod.load_pairs(path, 0, 10) == [("a", "b"), ("c", "d")]
    assert mod.load_pairs(path, 1, 10) == [("c", "d")]
    assert mod.load_pairs(path, 0, 10, limit=1) == [("a", "b")]
