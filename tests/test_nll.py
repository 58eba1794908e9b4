"""The LMFlow NLL benchmark against a plain one-sample-at-a-time loop, by hand, and rolling parity with the harness."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from lmbench.engine.loglikelihood import LoglikelihoodEngine
from lmbench.engine.nll import TextScorer
from lmbench.engine.requests import NllRequest, RollingRequest
from lmbench.models.loader import load_model
from lmbench.runner import EvalConfig, evaluate
from lmbench.tasks.nll import ROBIN_PROMPT

LONG = " ".join(f"the patient {i} had blood tests and the heart was fine" for i in range(30))


def reference_nll(model, tokenizer, request: NllRequest, max_length: int) -> float:
    """Straight from the definition: -sum ln p(token | all tokens before it), one token at a time when the
    sample is longer than the context (the context is then the max_length tokens before it)."""
    tokens, scored = [], []
    for text, is_scored in request.segments:
        ids = tokenizer.encode(text, add_special_tokens=False)
        tokens += ids
        scored += [is_scored] * len(ids)
    if request.skip_first:
        scored[0] = False
    total = 0.0
    with torch.no_grad():
        for position in range(1, len(tokens)):
            if not scored[position]:
                continue
            start = max(0, position - max_length)
            logits = model(torch.tensor([tokens[start:position]])).logits[0, -1]
            total -= torch.log_softmax(logits.float(), dim=-1)[tokens[position]].item()
    return total


def _requests() -> list[NllRequest]:
    return [
        NllRequest((("The heart pumps blood to the body.", True),), skip_first=True),  # text_only
        NllRequest(((ROBIN_PROMPT.format(input="What pumps blood?"), False), ("The heart.", True))),  # text2text
        NllRequest(((ROBIN_PROMPT.format(input="Hi"), False), ("Hello! How can I help?", True),
                    (ROBIN_PROMPT.format(input="Is the heart a muscle?"), False), ("Yes, it is a muscle.", True))),
        NllRequest(((ROBIN_PROMPT.format(input="Summarise"), False), (LONG, True))),  # longer than the context
        NllRequest(((LONG, True),), skip_first=True),
    ]


def test_batched_nll_matches_one_sample_loop(tiny_llama):
    # Reference context = max_length tokens before each token: the same as a window of stride 1.
    lm = load_model(str(tiny_llama), max_length=48)
    requests = _requests()
    for stride, tolerance in ((1, 1e-5), (None, None)):
        engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=8, progress=False)
        results = TextScorer(engine, stride=stride).nll(requests)
        assert results[3].n_windows > 1 and results[4].n_windows > 1, "the long samples must need several windows"
        if tolerance is None:
            continue
        for request, result in zip(requests, results):
            expected = reference_nll(lm.model, lm.tokenizer, request, lm.max_length)
            assert abs(result.nll - expected) < tolerance, (request.segments[0][0][:30], result.nll, expected)


def test_default_stride_scores_each_token_once_and_short_samples_match_exactly(tiny_llama):
    lm = load_model(str(tiny_llama), max_length=128)
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=8, progress=False)
    requests = _requests()
    results = TextScorer(engine).nll(requests)
    for request, result in zip(requests[:3], results[:3]):  # shorter than the context: a single window
        assert result.n_windows == 1
        assert abs(result.nll - reference_nll(lm.model, lm.tokenizer, request, lm.max_length)) < 1e-5
    long_tokens = lm.tokenizer.encode(LONG, add_special_tokens=False)
    assert results[4].n_tokens == len(long_tokens) - 1


def test_two_token_output_by_hand(tiny_llama, tmp_path):
    """A model whose LM head is zero predicts uniformly: each token costs ln V, a two-token output 2 ln V."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    with torch.no_grad():
        model.lm_head.weight.zero_()
    model.save_pretrained(tmp_path / "uniform")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "uniform" / name).write_bytes((tiny_llama / name).read_bytes())
    lm = load_model(str(tmp_path / "uniform"))
    vocab = model.config.vocab_size
    output = "heart"
    n_out = len(lm.tokenizer.encode(output, add_special_tokens=False))
    assert n_out == 2, "the hand-computed case needs a two-token output"
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, progress=False)
    result = TextScorer(engine).nll([NllRequest(((ROBIN_PROMPT.format(input="q"), False), (output, True)))])[0]
    assert result.n_tokens == 2 and result.n_bytes == len(output)
    assert result.nll == pytest.approx(2 * math.log(vocab), abs=1e-5)


def test_rolling_loglikelihood_matches_lm_eval(tiny_llama):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    texts = ["The heart pumps blood.", LONG, "Short", LONG[:333] + " end"]
    harness = HFLM(pretrained=str(tiny_llama), max_length=32, batch_size=4, device="cpu")
    instances = [Instance(request_type="loglikelihood_rolling", doc={}, arguments=(t,), idx=i)
                 for i, t in enumerate(texts)]
    expected = harness.loglikelihood_rolling(instances, disable_tqdm=True)
    lm = load_model(str(tiny_llama), max_length=32)
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=3, progress=False)
    ours = TextScorer(engine).rolling([RollingRequest(t) for t in texts])
    assert max(abs(a - b) for a, b in zip(ours, expected)) < 1e-4, (ours, expected)


def _lmflow_file(path: Path, dataset_type: str, instances: list[dict]) -> Path:
    path.write_text(json.dumps({"type": dataset_type, "instances": instances}))
    return path


def nll_by_hand(folder: Path, pieces: list[tuple[str, bool]]) -> float:
    """Golden NLL, independent of lmbench's engine: the model straight from transformers, ONE forward pass
    over the whole text (it fits the context), log_softmax, minus the sum over the scored tokens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids, scored = [], []
    for text, is_scored in pieces:
        piece = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids += piece
        scored += [is_scored] * len(piece)
    assert not scored[0] and len(ids) <= model.config.max_position_embeddings
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), dim=-1)
    return -sum(logprobs[i - 1, ids[i]].item() for i in range(1, len(ids)) if scored[i])


def test_nll_and_ppl_tasks_end_to_end(tiny_llama, tmp_path):
    folder = tmp_path / "nll"
    folder.mkdir()
    _lmflow_file(folder / "a.json", "text2text", [{"input": "What pumps blood?", "output": "The heart."},
                                                  {"input": "Name a bone.", "output": "The femur."}])
    _lmflow_file(folder / "b.json", "text2text", [{"input": "Is blood red?", "output": "Yes."}])
    conv = _lmflow_file(tmp_path / "conv.json", "conversation", [{"system": "Be brief.", "messages": [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Is the heart a muscle?"}, {"role": "assistant", "content": "Yes, it is."}]}])
    text = _lmflow_file(tmp_path / "text.json", "text_only", [{"text": LONG[:300]}, {"text": "The heart."}])
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks=f"nll:{folder},nll:{conv},ppl:{text}",
                                  db=str(tmp_path / "n.duckdb"), progress=False))
    results = outcome.results.set_index(["task", "metric"])["value"]
    nll_task = f"nll:{folder}"
    per_sample = [m["nll"] for m in outcome.samples[outcome.samples["task"] == nll_task]["metrics"]]
    # Golden values: the Robin prompt written out by hand, each sample scored by nll_by_hand.
    golden = [nll_by_hand(tiny_llama, [(f"###Human: {q}###Assistant:", False), (a, True)])
              for q, a in (("What pumps blood?", "The heart."), ("Name a bone.", "The femur."), ("Is blood red?", "Yes."))]
    assert per_sample == pytest.approx(golden, abs=1e-4)
    assert results[(nll_task, "nll")] == pytest.approx(sum(golden) / 3, abs=1e-4)
    tokens = sum(m["n_tokens"] for m in outcome.samples[outcome.samples["task"] == nll_task]["metrics"])
    assert results[(nll_task, "nll_per_token")] == pytest.approx(sum(per_sample) / tokens)
    assert results[(nll_task, "perplexity")] == pytest.approx(math.exp(sum(per_sample) / tokens))
    conv_golden = nll_by_hand(tiny_llama, [("Be brief.", False), ("###Human: Hi###Assistant:", False),
                                           ("Hello! How can I help?", True),
                                           ("###Human: Is the heart a muscle?###Assistant:", False),
                                           ("Yes, it is.", True)])
    assert results[(f"nll:{conv}", "nll")] == pytest.approx(conv_golden, abs=1e-4)
    rolling = outcome.samples[outcome.samples["task"] == f"ppl:{text}"]
    ll = sum(m["loglikelihood"] for m in rolling["metrics"])
    n_bytes = sum(len(t.encode()) for t in (LONG[:300], "The heart."))
    assert results[(f"ppl:{text}", "bits_per_byte")] == pytest.approx(-ll / n_bytes / math.log(2))


def test_lmflow_nll_suite_on_real_data(tiny_llama, shared_data, tmp_path):
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lmflow_nll", limit=3, data_dir=str(shared_data),
                                  db=str(tmp_path / "s.duckdb"), progress=False))
    results = outcome.results.set_index(["task", "metric"])["value"]
    for task in ("lmflow_nll_chat", "lmflow_nll_pubmedqa", "lmflow_nll_medmcqa", "lmflow_nll"):
        assert results[(task, "nll")] > 0 and results[(task, "bits_per_byte")] > 0
    assert ("lmflow_nll", "nll_macro") in results.index


def test_nll_prompt_is_configurable_and_changes_the_task_hash(tmp_path):
    from lmbench.errors import ConfigError
    from lmbench.tasks.prepare import prepare_tasks

    path = _lmflow_file(tmp_path / "t.json", "text2text", [{"input": "What pumps blood?", "output": "The heart."}])
    default, _ = prepare_tasks(f"nll:{path}", shots=None, limit=None, data_dir=None)
    custom, _ = prepare_tasks(f"nll:{path}", shots=None, limit=None, data_dir=None,
                              nll_prompt="<|user|>{input}<|assistant|>")
    assert default[0].data.docs[0].segments[0][0] == "###Human: What pumps blood?###Assistant:"
    assert custom[0].data.docs[0].segments[0][0] == "<|user|>What pumps blood?<|assistant|>"
    assert default[0].task_hash != custom[0].task_hash
    with pytest.raises(ConfigError, match="no {input} placeholder"):
        prepare_tasks(f"nll:{path}", shots=None, limit=None, data_dir=None, nll_prompt="no placeholder")
