"""The loglikelihood engine against a one-request-at-a-time reference, across batch sizes and prefix reuse."""

from __future__ import annotations

import pytest
import torch

from lmbench.engine.batching import MIN_PREFIX, plan_groups
from lmbench.engine.rows import Row
from lmbench.engine.batching import parse_batch_size
from lmbench.engine.loglikelihood import LoglikelihoodEngine
from lmbench.engine.requests import LoglikelihoodRequest
from lmbench.errors import ConfigError
from lmbench.models.loader import load_model

SHARED = "The following are multiple choice questions (with answers) about anatomy.\n\n" * 4


def _requests() -> list[LoglikelihoodRequest]:
    reqs = []
    for question in ["Which organ pumps blood?", "Which bone is the longest bone in the adult body?", "Cell?"]:
        for choice in [" A", " B", " C", " D", " maybe not", " yes"]:
            reqs.append(LoglikelihoodRequest(SHARED + "Question: " + question + "\nAnswer:", choice))
    reqs += [LoglikelihoodRequest("", "hello world"), LoglikelihoodRequest("short context ", "ending"),
             LoglikelihoodRequest("x", " y")]
    return reqs


def _reference(lm, request: LoglikelihoodRequest) -> float:
    """log p(continuation | context) straight from the definition: one sequence, full logits."""
    tok = lm.tokenizer
    context, continuation = request.context, request.continuation
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    if context:
        ctx = tok.encode(context)
        whole = tok.encode(context + continuation)
    else:
        ctx = [tok.bos_token_id]
        whole = ctx + tok.encode(continuation, add_special_tokens=False)
    with torch.no_grad():
        logits = lm.model(torch.tensor([whole])).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    return sum(logprobs[len(ctx) - 1 + i, t].item() for i, t in enumerate(whole[len(ctx):]))


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_gpt2", "tiny_llama_bos"])
def test_engine_matches_reference_for_every_batch_size(fixture, request):
    lm = load_model(str(request.getfixturevalue(fixture)))
    reqs = _requests()
    reference = [_reference(lm, r) for r in reqs]
    worst = 0.0
    for batch_size in (1, 4, 32, "auto"):
        for reuse in (True, False):
            engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=batch_size,
                                         reuse_prefix=reuse, progress=False)
            assert engine.scorer.fast_head, "hidden-state scoring should pass its probe on standard models"
            assert engine.reuse_prefix == reuse
            out = engine.run(reqs)
            worst = max(worst, max(abs(o.logprob - r) for o, r in zip(out, reference)))
    assert worst < 1e-4, worst


def test_identical_inputs_share_one_row_and_prefix_is_planned(tiny_llama):
    lm = load_model(str(tiny_llama))
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, progress=False)
    rows, *_ = engine._rows([engine.encoder.encode_pair(r.context, r.continuation) for r in _requests()])
    # 3 questions x 4 one-token letters collapse to 3 rows; multi-token choices need their own rows.
    one_token = [r for r in rows if len(r.targets) >= 4]
    assert len(one_token) == 3
    groups = plan_groups(rows, reuse_prefix=True)
    shared = [g for g in groups if g.prefix]
    assert shared and len(shared[0].prefix) >= MIN_PREFIX
    assert all(len(r.tokens) >= r.max_cont for g in groups for r in g.rows)


def test_is_greedy_and_token_counts(tiny_llama):
    lm = load_model(str(tiny_llama))
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, progress=False)
    context = "Question: Which organ pumps blood?\nAnswer:"
    ids = lm.tokenizer.encode(context)
    with torch.no_grad():
        best = int(lm.model(torch.tensor([ids])).logits[0, -1].argmax())
    greedy_text = lm.tokenizer.decode([best])
    out = engine.run([LoglikelihoodRequest(context, greedy_text), LoglikelihoodRequest(context, " zebra crossing")])
    assert out[0].is_greedy and out[0].n_tokens == 1
    assert not out[1].is_greedy and out[1].n_tokens >= 2


def test_left_truncation_to_max_length(tiny_llama):
    lm = load_model(str(tiny_llama), max_length=32)
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, progress=False)
    long_context = "the heart and the blood" * 40
    out = engine.run([LoglikelihoodRequest(long_context, " cell")])
    cont = lm.tokenizer.encode(" cell")
    ids = (lm.tokenizer.encode(long_context) + cont)[-33:]  # max_length + 1 tokens, the last one only a target
    with torch.no_grad():
        logprobs = torch.log_softmax(lm.model(torch.tensor([ids[:-1]])).logits[0], dim=-1)
    expected = sum(logprobs[32 - len(cont) + i, t].item() for i, t in enumerate(cont))
    assert out[0].n_tokens == len(cont)
    assert abs(out[0].logprob - expected) < 1e-5


def test_batch_size_parsing():
    assert parse_batch_size("auto") is None and parse_batch_size("8") == 8 and parse_batch_size(3) == 3
    for bad in ("0", "-2", "many"):
        with pytest.raises(ConfigError):
            parse_batch_size(bad)


def test_plan_groups_never_prefixes_past_a_scored_position():
    shared = tuple(range(100))
    rows = [Row(shared + (7,), ((1, 2, 3),)), Row(shared + (8, 9), ((4,),))]
    groups = plan_groups(rows, reuse_prefix=True)
    for group in groups:
        for row in group.rows:
            assert len(row.tokens) >= row.max_cont >= 1


def test_models_that_postprocess_logits_fall_back_to_full_logits(tiny_llama, tmp_path):
    """Gemma-2 soft-caps its logits after the LM head: the hidden-state shortcut must detect that and step aside."""
    from transformers import AutoTokenizer, Gemma2Config, Gemma2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    torch.manual_seed(0)
    config = Gemma2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                          final_logit_softcapping=2.0, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    Gemma2ForCausalLM(config).save_pretrained(tmp_path / "gemma2")
    tokenizer.save_pretrained(tmp_path / "gemma2")
    lm = load_model(str(tmp_path / "gemma2"))
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=4, progress=False)
    assert not engine.scorer.fast_head and not engine.reuse_prefix
    reqs = _requests()
    out = engine.run(reqs)
    assert max(abs(o.logprob - _reference(lm, r)) for o, r in zip(out, reqs)) < 1e-4


def test_out_of_memory_halves_the_batch_and_keeps_order():
    from lmbench.engine.memory import run_halving
    from lmbench.errors import LmbenchError

    sizes = []

    def run(rows):
        sizes.append(len(rows))
        if len(rows) > 2:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes")
        return [r * 10 for r in rows]

    halves = []
    assert run_halving(list(range(7)), run, on_halve=halves.append, too_big=str) == [r * 10 for r in range(7)]
    assert max(s for s in sizes if s <= 2) == 2 and halves[0] == 3
    with pytest.raises(LmbenchError, match="row 5 is too big"):
        run_halving([5], lambda rows: (_ for _ in ()).throw(RuntimeError("CUDA out of memory")), on_halve=halves.append,
                    too_big=lambda r: f"row {r} is too big")
    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_halving([1, 2], lambda rows: (_ for _ in ()).throw(RuntimeError("shape mismatch")), on_halve=halves.append,
                    too_big=str)
