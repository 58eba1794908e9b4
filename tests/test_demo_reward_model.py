"""scripts/train_demo_reward_model.py: Bradley-Terry training on a tiny BERT built from a config."""

from __future__ import annotations

import importlib.util
import json
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


def _pairs(n: int) -> list[tuple[str, str]]:
    """HH-format dialogues whose chosen/rejected differ only in the final response, plus one tie to skip."""
    good = ["the heart pumps blood", "a protein in the cell", "take the drug dose"]
    bad = ["no no no", "maybe no", "0 1 2 3"]
    return [(f"\n\nHuman: question {i} about anatomy?\n\nAssistant: {good[i % 3]}",
             f"\n\nHuman: question {i} about anatomy?\n\nAssistant: {bad[i % 3]}") for i in range(n)]


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
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id,
                     num_labels=1)
    model = BertForSequenceClassification(cfg)
    pairs = _pairs(16)
    before = mod.evaluate(model, tok, pairs, max_length=64)
    losses = mod.train_reward_model(model, tok, pairs, epochs=8, lr=3e-3, head_lr=3e-2, batch_size=8,
                                    max_length=64, seed=0)
    after = mod.evaluate(model, tok, pairs, max_length=64)
    assert len(losses) == 16
    assert tok.truncation_side == "left"
    assert after["loss"] < before["loss"] - 0.05, (before, after)
    assert sum(losses[-4:]) < sum(losses[:4])
    assert after["accuracy"] >= before["accuracy"]

    out = mod.save_reward_model(model, tok, tmp_path / "rm", {"accuracy_after": after["accuracy"]})
    reloaded = AutoModelForSequenceClassification.from_pretrained(out)
    assert reloaded.config.num_labels == 1
    assert json.loads((out / "lmbench_reward.json").read_text())["accuracy_after"] == after["accuracy"]
    reloaded.eval()
    again = mod.evaluate(reloaded, tok, pairs, max_length=64)
    assert again["loss"] == pytest.approx(after["loss"], abs=1e-5)


def test_load_pairs_skips_ties(tmp_path: Path) -> None:
    mod = _load_script()
    rows = [{"chosen": "a", "rejected": "b"}, {"chosen": "same", "rejected": "same"}, {"chosen": "c", "rejected": "d"}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert mod.load_pairs(path, 0, 10) == [("a", "b"), ("c", "d")]
    assert mod.load_pairs(path, 1, 10) == [("c", "d")]
    assert mod.load_pairs(path, 0, 10, limit=1) == [("a", "b")]
