"""Bad input to the alignment recipes and the pairs task: one-line errors, exit code 2, nothing trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli import run_cli

torch = pytest.importorskip("torch")


def _one_line_error(result, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("lmbench: error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tiny import build_tokenizer
    from transformers import BertConfig, BertForSequenceClassification, LlamaConfig, LlamaForCausalLM

    tmp = tmp_path_factory.mktemp("align_errors")
    two = tmp / "rm2"
    tok = build_tokenizer(two)
    BertForSequenceClassification(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=64, num_labels=2)
                                  ).save_pretrained(two)
    other = tmp / "other_tok_llama"
    tok = build_tokenizer(other, vocab_size=300)
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=1, bos_token_id=1, eos_token_id=2,
                                 pad_token_id=0)).save_pretrained(other)
    user = {"role": "user", "content": "hi"}
    good = {"chosen": {"messages": [user, {"role": "assistant", "content": "a"}]},
            "rejected": {"messages": [user, {"role": "assistant", "content": "b"}]}}
    (tmp / "pairs.json").write_text(json.dumps({"type": "paired_conversation", "instances": [good]}))
    (tmp / "no_rejected.json").write_text(json.dumps({"type": "paired_conversation",
                                                      "instances": [{"chosen": good["chosen"]}]}))
    (tmp / "prompts.json").write_text(json.dumps({"type": "conversation", "instances": [
        {"messages": [user, {"role": "assistant", "content": "a"}]}]}))
    return {"tmp": tmp, "rm2": two, "other": other}


def test_reward_model_with_two_outputs(files: dict[str, Path]) -> None:
    tmp = files["tmp"]
    result = run_cli("eval", str(files["rm2"]), "--tasks", f"pairs:{tmp / 'pairs.json'}", "--db", str(tmp / "a.duckdb"))
    _one_line_error(result, "2 outputs")
    result = run_cli("tune", "raft", f"reward_model={files['rm2']}", f"data={tmp / 'prompts.json'}",
                     "early_stop=false", f"output_dir={tmp / 'raft'}", f"db={tmp / 'b.duckdb'}")
    _one_line_error(result, "2 outputs")
    assert not (tmp / "raft").exists()


def test_paired_data_missing_rejected(files: dict[str, Path]) -> None:
    tmp = files["tmp"]
    result = run_cli("tune", "reward", f"data={tmp / 'no_rejected.json'}", f"output_dir={tmp / 'rm'}",
                     f"db={tmp / 'c.duckdb'}")
    _one_line_error(result, 'missing "rejected"')
    assert not (tmp / "rm" / "final").exists()


def test_k_below_two_for_local(files: dict[str, Path], tiny_llama: Path) -> None:
    tmp = files["tmp"]
    result = run_cli("tune", "raft", f"model={tiny_llama}", "reward_model=python:raft_reward:digit_share",
                     f"data={tmp / 'prompts.json'}", "k=1", "strategy=local", "early_stop=false",
                     f"output_dir={tmp / 'raft1'}", f"db={tmp / 'd.duckdb'}")
    _one_line_error(result, "k=1", "strategy=top")
    assert not (tmp / "raft1").exists()


def test_reference_model_with_another_tokenizer(files: dict[str, Path], tiny_llama: Path) -> None:
    tmp = files["tmp"]
    result = run_cli("tune", "dpo", f"model={tiny_llama}", f"ref_model={files['other']}",
                     f"data={tmp / 'pairs.json'}", f"output_dir={tmp / 'dpo'}", f"db={tmp / 'e.duckdb'}",
                     "device=cpu")
    _one_line_error(result, "different tokenizer")
    assert not (tmp / "dpo" / "final").exists()
