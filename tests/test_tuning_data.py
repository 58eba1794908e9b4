"""Tuning data: SFT label masks per template, SFT tokens == NLL-scored tokens, pretraining packing, mixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmbench.data.lmflow import LMFlowDataset, validate_instance
from lmbench.tuning.sft_data import IGNORE, encode_example, instance_input

# A chatml-style Jinja chat template (the shape of SmolLM2's) for the `tokenizer` template.
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Which organ pumps blood?"},
            {"role": "assistant", "content": "The heart."},
            {"role": "user", "content": "And the lung?"},
            {"role": "assistant", "content": " It moves air. "}]
# The trained spans each template must produce for MESSAGES (engine/templates.py docstring).
TRAINED = {
    "robin": ["The heart.", " It moves air. "],
    "plain": ["The heart.", " It moves air. "],
    "chatml": ["The heart.<|im_end|>", " It moves air. <|im_end|>"],
    "llama3": ["The heart.<|eot_id|>", "It moves air.<|eot_id|>"],
    "tokenizer": ["The heart.<|im_end|>", " It moves air. <|im_end|>"],
}


@pytest.fixture(scope="module")
def tok(tiny_llama: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _runs(ids: list[int], labels: list[int]) -> list[list[int]]:
    runs, current = [], []
    for token, label in zip(ids, labels, strict=True):
        if label != IGNORE:
            assert label == token
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


@pytest.mark.parametrize("template", sorted(TRAINED))
def test_label_masks_token_by_token(tok, template: str) -> None:
    from lmbench.engine.templates import conversation_segments

    example = encode_example(tok, MESSAGES, template, 10_000)
    ids, labels = example["input_ids"], example["labels"]
    assert example["attention_mask"] == [1] * len(ids)
    # Trained runs are exactly the replies (and their end markers), token for token.
    runs = _runs(ids, labels)
    assert [tok.decode(r) for r in runs] == TRAINED[template]
    assert runs == [tok.encode(text, add_special_tokens=False) for text in TRAINED[template]]
    # Untrained tokens are exactly the other segments, each tokenized on its own.
    segments = conversation_segments(MESSAGES, template, tok)
    expected: list[int] = []
    for s in segments:
        expected += tok.encode(s.text, add_special_tokens=False)
    assert ids == expected
    assert sum(label != IGNORE for label in labels) == sum(len(r) for r in runs)


def test_truncation_and_text2text(tok) -> None:
    pair = {"input": "Does it work?", "output": "yes it does"}
    full = encode_example(tok, pair, "robin", 10_000)
    assert tok.decode([t for t, lab in zip(full["input_ids"], full["labels"]) if lab != IGNORE]) == "yes it does"
    cut = encode_example(tok, pair, "robin", 5, truncation="right")
    assert cut["input_ids"] == full["input_ids"][:5] and all(label == IGNORE for label in cut["labels"])
    # the default cuts the front: the reply (and the prompt's end) stay, as the evaluation engines cut prompts
    n_reply = sum(label != IGNORE for label in full["labels"])
    left = encode_example(tok, pair, "robin", n_reply + 2)
    assert left["input_ids"] == full["input_ids"][-(n_reply + 2):] and left["labels"] == full["labels"][-(n_reply + 2):]
    assert sum(label != IGNORE for label in left["labels"]) == n_reply
    # plain text2text with an empty input: the first token is trained, so the prefix token goes in front (as NLL).
    empty = encode_example(tok, {"input": "", "output": "yes"}, "plain", 100)
    assert empty["input_ids"][0] == tok.bos_token_id and empty["labels"][0] == IGNORE


@pytest.mark.parametrize("template", sorted(TRAINED))
def test_sft_trains_exactly_what_nll_scores(tiny_llama: Path, tok, template: str) -> None:
    """Same sample, same template: SFT's trained tokens are the NLL benchmark's scored tokens, and the SFT loss
    times the trained-token count is the benchmark's NLL of the sample."""
    import torch
    from transformers import AutoModelForCausalLM

    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.engine.nll import TextScorer
    from lmbench.engine.requests import NllRequest
    from lmbench.engine.templates import conversation_segments
    from lmbench.tasks.nll import to_docs

    conversation = validate_instance("conversation", {"messages": MESSAGES}, "test")
    pair = validate_instance("text2text", {"input": "Does the heart pump blood?", "output": "Yes, it does."}, "test")
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    scorer = TextScorer(LoglikelihoodEngine(model, tok, 512, batch_size=1, progress=False))
    for kind, instance in (("conversation", conversation), ("text2text", pair)):
        if template == "tokenizer":  # the NLL task builds docs without a tokenizer; segment as it would with one
            messages = instance_input(kind, instance)
            messages = messages if isinstance(messages, list) else [
                {"role": "user", "content": messages["input"]}, {"role": "assistant", "content": messages["output"]}]
            segments = tuple((s.text, s.trained) for s in conversation_segments(messages, "tokenizer", tok))
            request = NllRequest(segments, False)
        else:
            doc = to_docs(LMFlowDataset(kind, [instance]), template)[0]
            request = NllRequest(doc.segments, doc.skip_first)
        nll_tokens, nll_scored, _ = scorer._tokens(request)
        example = encode_example(tok, instance_input(kind, instance), template, 10_000)
        assert example["input_ids"] == nll_tokens
        assert [label != IGNORE for label in example["labels"]] == nll_scored
        nll = scorer.nll([request])[0]
        with torch.no_grad():
            out = model(input_ids=torch.tensor([example["input_ids"]]), labels=torch.tensor([example["labels"]]))
        assert out.loss.item() * nll.n_tokens == pytest.approx(nll.nll, rel=1e-4)


def test_pack_documents(tok) -> None:
    from lmbench.tuning.pretrain_data import pack_documents

    texts = ["the heart pumps blood", "cell protein gene", "0 1 2 3 4 5 6 7 8 9"]
    stream: list[int] = []
    for text in texts:
        stream += tok.encode(text, add_special_tokens=False) + [tok.eos_token_id]
    blocks, stats = pack_documents(tok, texts, 8)
    assert stats["blocks"] == len(stream) // 8 == len(blocks)
    assert [t for b in blocks for t in b["input_ids"]] == stream[: len(blocks) * 8]
    assert all(b["labels"] == b["input_ids"] and len(b["input_ids"]) == 8 for b in blocks)
    assert stats["dropped_tokens"] == len(stream) % 8


def test_mixture_weights_and_identity(tmp_path: Path) -> None:
    from lmbench.tuning.lm_config import TuneConfig
    from lmbench.tuning.mixture import load_parts, mix

    a = tmp_path / "a.json"
    a.write_text(json.dumps({"type": "text2text", "instances": [{"input": f"q{i}", "output": "a"} for i in range(6)]}))
    config = TuneConfig(output_dir=str(tmp_path / "out"), data=[str(a), "builtin:identity"], weights=[1.0, 3.0],
                        model_name="Medi", maker="ACME", identity_rows=4)
    parts, problems = load_parts(config)
    assert problems == []
    rows, done = mix(parts, seed=1)
    assert [p.drawn for p in done] == [2, 8]  # N = 6 + 4 = 10 rows split 1:3; identity repeated twice
    identity = [inst for kind, inst in rows if kind == "conversation"]
    assert len(identity) == 8 and identity[0]["messages"][1]["content"].count("{") == 0
    assert any("Medi" in inst["messages"][1]["content"] for inst in identity)
    assert all("ACME" in inst["messages"][1]["content"] or "Medi" in inst["messages"][1]["content"] for inst in identity)
    assert done[1].record()["weight"] == 3.0 and len(done[0].record()["hash"]) == 16
    again, _ = mix(parts, seed=1)
    assert again == rows


def test_sft_packing_keeps_labels_per_token(tok) -> None:
    from lmbench.tuning.sft_data import build_sft_rows

    rows = [("text2text", {"input": f"Question {i}?", "output": "the heart"}) for i in range(6)]
    plain, _ = build_sft_rows(tok, rows, "robin", 64)
    packed, stats = build_sft_rows(tok, rows, "robin", 64, packing=True)
    assert all(len(p["input_ids"]) <= 64 for p in packed) and len(packed) < len(plain)
    assert [t for p in packed for t in p["input_ids"]] == [t for e in plain for t in e["input_ids"]]
    assert [t for p in packed for t in p["labels"]] == [t for e in plain for t in e["labels"]]
    assert stats["trained_tokens"] == sum(sum(1 for t in e["labels"] if t != IGNORE) for e in plain)
