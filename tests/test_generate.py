"""GenerationEngine and prompt templates on tiny models (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmbench.engine.generate import GenerationEngine, GenerationParams
from lmbench.engine.requests import GenerateRequest
from lmbench.engine.templates import TEMPLATES, format_prompt
from lmbench.errors import ConfigError

PROMPTS = [
    "Question: Which organ pumps blood through the body?",
    "the of",
    "cell protein gene blood heart brain muscle bone nerve drug dose patient",
    "A",
    "Abstract: Patients were randomised to treatment or placebo.",
    "0 1 2",
    "Choices:\nA. one\nB. two",
    "drug dose patient disease therapy is",
]


def _engine(path: Path, **kwargs) -> GenerationEngine:
    from lmbench.models.loader import load_model

    loaded = load_model(str(path), device="cpu")
    return GenerationEngine(loaded.model, loaded.tokenizer, loaded.max_length, progress=False, **kwargs)


@pytest.fixture(scope="module")
def llama_engine(tiny_llama: Path) -> GenerationEngine:
    return _engine(tiny_llama, batch_size=8)


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_gpt2"])
def test_greedy_batch_equals_one_at_a_time(arch: str, request: pytest.FixtureRequest) -> None:
    engine = _engine(request.getfixturevalue(arch), batch_size=8)
    side = engine.tokenizer.padding_side
    requests = [GenerateRequest(p, {"max_new_tokens": 12}) for p in PROMPTS]
    batched = engine.run(requests)
    assert engine.tokenizer.padding_side == side  # the user's tokenizer is left alone
    for request_, result in zip(requests, batched):
        alone = engine.run([request_])[0]
        assert result.token_ids == alone.token_ids
        assert result.text == alone.text
        assert result.n_prompt_tokens == len(engine.encode(request_.prompt))
    assert len({r.token_ids for r in batched}) > 1  # results came back in input order, not all the same


def test_sampling_reproducible_across_batches(llama_engine: GenerationEngine) -> None:
    sampled = {"max_new_tokens": 16, "do_sample": True, "seed": 7, "temperature": 0.9, "top_p": 0.95}
    target = GenerateRequest(PROMPTS[0], sampled)
    alone = llama_engine.run([target])[0]
    assert llama_engine.run([target])[0].token_ids == alone.token_ids
    others = [GenerateRequest(p, {"max_new_tokens": 10 + i, "do_sample": i % 2 == 0, "seed": i})
              for i, p in enumerate(PROMPTS[1:])]
    mixed = llama_engine.run(others[:3] + [target] + others[3:])
    assert mixed[3].token_ids == alone.token_ids and mixed[3].text == alone.text
    rerun = llama_engine.run(others[:3] + [target] + others[3:])
    assert [r.token_ids for r in rerun] == [r.token_ids for r in mixed]


def test_different_seeds_differ(llama_engine: GenerationEngine) -> None:
    texts = {llama_engine.run([GenerateRequest(PROMPTS[0], {"max_new_tokens": 16, "do_sample": True, "seed": s})])[0]
             .token_ids for s in range(4)}
    assert len(texts) > 1
    greedy = llama_engine.run([GenerateRequest(PROMPTS[0], {"max_new_tokens": 16})])[0]
    top1 = llama_engine.run([GenerateRequest(PROMPTS[0], {"max_new_tokens": 16, "do_sample": True, "top_k": 1,
                                                          "seed": 3})])[0]
    assert top1.token_ids == greedy.token_ids  # top_k=1 sampling is greedy


def test_max_new_tokens_per_request(llama_engine: GenerationEngine) -> None:
    sizes = [1, 3, 7, 12]
    results = llama_engine.run([GenerateRequest(PROMPTS[2], {"max_new_tokens": n}) for n in sizes])
    for n, result in zip(sizes, results):
        assert result.n_new_tokens == len(result.token_ids) == n
        assert result.stopped_by == "length"
        assert result.token_ids == results[-1].token_ids[:n]


def test_stop_sequences_cut(llama_engine: GenerationEngine) -> None:
    full = llama_engine.run([GenerateRequest(PROMPTS[0], {"max_new_tokens": 24})])[0]
    k = next(i for i in range(2, len(full.text) - 2) if full.text[i:i + 2].isascii() and full.text[i:i + 2].strip()
             and full.text.find(full.text[i:i + 2]) == i)
    stop = full.text[k:k + 2]
    cut = llama_engine.run([GenerateRequest(PROMPTS[0], {"max_new_tokens": 24, "stop": ["never-there", stop]}),
                            GenerateRequest(PROMPTS[1], {"max_new_tokens": 24})])
    assert cut[0].text == full.text[:k]
    assert cut[0].stopped_by == "stop"
    assert cut[0].n_new_tokens < full.n_new_tokens  # generation stopped early, not just truncated
    assert cut[0].token_ids == full.token_ids[:cut[0].n_new_tokens]
    assert stop in llama_engine.tokenizer.decode(list(cut[0].token_ids))
    assert cut[1].n_new_tokens == 24  # the other row ran on


def test_eos_stops_a_row(tiny_llama: Path) -> None:
    engine = _engine(tiny_llama, batch_size=4)
    full = engine.run([GenerateRequest(PROMPTS[3], {"max_new_tokens": 10})])[0]
    eos = full.token_ids[4]
    engine.eos_ids = {eos}  # pretend the 5th greedy token is an end-of-sequence token
    result = engine.run([GenerateRequest(PROMPTS[3], {"max_new_tokens": 10})])[0]
    first = full.token_ids.index(eos)
    assert result.stopped_by == "eos"
    assert result.token_ids == full.token_ids[:first + 1] and result.n_new_tokens == first + 1
    assert result.text == engine.tokenizer.decode(list(full.token_ids[:first]), skip_special_tokens=True)


def test_too_long_prompt_is_config_error(tiny_llama: Path) -> None:
    from lmbench.models.loader import load_model

    loaded = load_model(str(tiny_llama), device="cpu")
    engine = GenerationEngine(loaded.model, loaded.tokenizer, 40, progress=False)
    with pytest.raises(ConfigError, match=r"over max_length 40 - max_new_tokens 30 = 10") as info:
        engine.run([GenerateRequest("short", {"max_new_tokens": 5}),
                    GenerateRequest(PROMPTS[2], {"max_new_tokens": 30})])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("params, match", [
    ({"max_tokens": 5}, "unknown generation parameter"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"temperature": -1}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"stop": [""]}, "stop"),
    ({"do_sample": "yes"}, "do_sample"),
])
def test_bad_params_are_config_errors(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        GenerationParams.from_dict(params)


def test_param_defaults() -> None:
    p = GenerationParams.from_dict({"stop": "###"})
    assert (p.max_new_tokens, p.do_sample, p.stop) == (128, False, ("###",))


def test_robin_template_exact() -> None:
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "What is 2+2?"}]
    # The reply follows "###Assistant:" directly: the NLL benchmark's segments (lmbench.engine.templates).
    expected = "###Human: Hi###Assistant:Hello!###Human: What is 2+2?###Assistant:"
    assert format_prompt(None, messages, "robin") == expected
    assert format_prompt(None, "Hi", "robin") == "###Human: Hi###Assistant:"
    assert format_prompt(None, "as is\n", "plain") == "as is\n"
    assert {"chat", "robin", "plain"} <= set(TEMPLATES)


def test_chat_template(tiny_llama: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    with pytest.raises(ConfigError, match="no chat template"):
        format_prompt(tokenizer, "Hi", "chat")
    tokenizer.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    assert format_prompt(tokenizer, "Hi", "chat") == "<|user|>Hi\n<|assistant|>"
    with pytest.raises(ConfigError, match="unknown prompt template"):
        format_prompt(tokenizer, "Hi", "alpaca")
