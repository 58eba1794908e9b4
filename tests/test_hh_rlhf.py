"""HH-RLHF generation evaluation end to end on a tiny model, with a tiny reward model; bad reward models."""

from __future__ import annotations

import pytest

from lmbench.errors import ConfigError
from lmbench.runner import EvalConfig, evaluate
from lmbench.tasks.hh_rlhf import split_dialogue


@pytest.fixture(scope="module")
def tiny_reward_model(tiny_llama, tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("rm")
    BertForSequenceClassification(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=37, num_labels=1,
                                             pad_token_id=0)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_split_dialogue():
    prompt, answer = split_dialogue("\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye?\n\nAssistant: Bye now.")
    assert prompt == "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye?\n\nAssistant:" and answer == "Bye now."
    assert split_dialogue("\n\nHuman: no answer") is None


def _reward_by_hand(folder, prompt: str, response: str) -> float:
    """The reward model run directly, one pair at a time: `prompt + " " + response`, cut from the left."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    ids = tokenizer(f"{prompt.rstrip()} {response.strip()}")["input_ids"][-model.config.max_position_embeddings:]
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0, 0].item()


def _msttr_by_hand(texts: list[str]) -> float:
    """MSTTR-100 from its definition: NLTK word tokens (sentences split first), lowercased, all responses
    concatenated, consecutive 100-token segments, the last partial one dropped."""
    from nltk.tokenize import NLTKWordTokenizer, PunktSentenceTokenizer

    tokens = [t.lower() for text in texts for sentence in PunktSentenceTokenizer().tokenize(text)
              for t in NLTKWordTokenizer().tokenize(sentence)]
    segments = [tokens[i:i + 100] for i in range(0, len(tokens) - 99, 100)]
    assert segments, f"only {len(tokens)} tokens: the test needs at least one full segment"
    return sum(len(set(s)) / 100 for s in segments) / len(segments)


def test_hh_rlhf_end_to_end(tiny_llama, tiny_reward_model, shared_data, tmp_path):
    # 8 prompts x up to 96 new tokens: enough words for MSTTR-100 segments (a smaller run leaves it NULL).
    config = EvalConfig(checkpoint=str(tiny_llama), tasks="hh_rlhf_helpful", limit=8, data_dir=str(shared_data),
                        db=str(tmp_path / "hh.duckdb"), reward_model=str(tiny_reward_model), max_new_tokens=96,
                        progress=False)
    outcome = evaluate(config)
    results = outcome.results.set_index("metric")["value"]
    for metric in ("reward", "perplexity", "distinct_1", "distinct_2", "unique_1", "vocab_1", "mean_pred_length"):
        assert metric in results.index
    samples = outcome.samples
    assert all(m["n_new_tokens"] <= 96 for m in samples["metrics"])
    assert samples["prompt"].str.endswith("\n\nAssistant:").all()
    # Rewards recomputed with the reward model itself, not read back from the run.
    by_hand = [_reward_by_hand(tiny_reward_model, p, r) for p, r in zip(samples["prompt"], samples["prediction"])]
    assert [m["reward"] for m in samples["metrics"]] == pytest.approx(by_hand, abs=1e-4)
    assert results["reward"] == pytest.approx(sum(by_hand) / len(by_hand), abs=1e-4)
    assert len(set(round(r, 4) for r in by_hand)) > 1, "distinct answers get distinct rewards"
    msttr = _msttr_by_hand(list(samples["prediction"]))
    assert not pd_isnull(results["msttr_100"]) and results["msttr_100"] == pytest.approx(msttr, abs=1e-9)
    again = evaluate(config)
    assert again.status == "cached"
    other = evaluate(EvalConfig(**{**config.__dict__, "max_new_tokens": 8}))
    assert other.status == "done" and other.reused == 0, "other generation settings must not reuse answers"


def pd_isnull(value) -> bool:
    import pandas as pd

    return bool(pd.isnull(value))


def test_reward_model_with_two_outputs_is_refused(tiny_llama, shared_data, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                             intermediate_size=37, num_labels=2)).save_pretrained(tmp_path / "rm2")
    with pytest.raises(ConfigError, match="has 2 outputs"):
        evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="hh_rlhf_helpful", limit=2, data_dir=str(shared_data),
                            db=str(tmp_path / "x.duckdb"), reward_model=str(tmp_path / "rm2"), progress=False))


def test_reference_generation_task(tiny_llama, tmp_path):
    import json

    data = tmp_path / "qa.json"
    data.write_text(json.dumps({"type": "text2text", "instances": [
        {"input": "What pumps blood?", "output": "The heart pumps blood through the body."},
        {"input": "Name a bone.", "output": "The femur is the longest bone."}]}))
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks=f"gen:{data}", db=str(tmp_path / "g.duckdb"),
                                  max_new_tokens=10, progress=False))
    results = outcome.results.set_index("metric")["value"]
    for metric in ("bleu", "rougeL", "nist", "distinct_1", "perplexity"):
        assert metric in results.index
    per_sample = [m["rougeL"] for m in outcome.samples["metrics"]]
    assert all(0 <= r <= 1 for r in per_sample)
    assert list(outcome.samples["target"]) == ["The heart pumps blood through the body.", "The femur is the longest bone."]
    assert outcome.samples["prompt"].iloc[0] == "###Human: What pumps blood?###Assistant:"
