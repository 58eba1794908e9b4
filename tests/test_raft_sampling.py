"""Shared-prefill K sampling (lmbench.engine.sample_k) on tiny models: same tokens as the plain engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmbench.engine.generate import GenerationEngine
from lmbench.engine.requests import GenerateRequest
from lmbench.engine.sample_k import generate_k
from lmbench.errors import ConfigError

PROMPTS = ["Question: Which organ pumps blood through the body?", "the of", "A",
           "cell protein gene blood heart brain muscle bone nerve drug dose patient"]
SAMPLED = {"max_new_tokens": 12, "do_sample": True, "seed": 5, "temperature": 0.9, "top_p": 0.95}


def _engine(path: Path, batch_size: int | str = 8) -> GenerationEngine:
    from lmbench.models.loader import load_model

    loaded = load_model(str(path), device="cpu")
    return GenerationEngine(loaded.model, loaded.tokenizer, loaded.max_length, progress=False, batch_size=batch_size)


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_gpt2"])
def test_greedy_equals_plain_engine_and_hf_generate(arch: str, request: pytest.FixtureRequest) -> None:
    import torch

    engine = _engine(request.getfixturevalue(arch))
    k = 3
    shared = generate_k(engine, [GenerateRequest(p, {"max_new_tokens": 10}) for p in PROMPTS], k)
    for prompt, rows in zip(PROMPTS, shared):
        assert len(rows) == k
        plain = engine.run([GenerateRequest(prompt, {"max_new_tokens": 10})])[0]
        ids = torch.tensor([engine.encode(prompt)] * k)  # what num_return_sequences does: the prompt K times
        with torch.inference_mode():
            hf = engine.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=10,
                                       do_sample=False, pad_token_id=engine.pad_id)[:, ids.shape[1]:].tolist()
        for row, reference in zip(rows, hf):
            assert row.token_ids == plain.token_ids
            assert list(row.token_ids) == reference[:len(row.token_ids)]
    assert len({rows[0].token_ids for rows in shared}) > 1


def test_sampled_rows_are_the_engines_seeds_and_reproducible(tiny_llama: Path) -> None:
    engine = _engine(tiny_llama)
    k = 4
    first = generate_k(engine, [GenerateRequest(p, SAMPLED) for p in PROMPTS], k)
    again = generate_k(engine, [GenerateRequest(p, SAMPLED) for p in PROMPTS], k)
    assert [[r.token_ids for r in rows] for rows in first] == [[r.token_ids for r in rows] for rows in again]
    for prompt, rows in zip(PROMPTS, first):
        alone = [engine.run([GenerateRequest(prompt, {**SAMPLED, "seed": 5 + j})])[0] for j in range(k)]
        assert [r.token_ids for r in rows] == [a.token_ids for a in alone]
        assert [r.text for r in rows] == [a.text for a in alone]
    assert len({r.token_ids for r in first[0]}) > 1  # the K samples differ


def test_batching_does_not_change_samples(tiny_llama: Path) -> None:
    """One prompt per batch, auto batching and 8 rows per batch give the same samples."""
    requests = [GenerateRequest(p, {**SAMPLED, "max_new_tokens": 6 + i}) for i, p in enumerate(PROMPTS)]
    runs = [generate_k(_engine(tiny_llama, size), requests, 2) for size in (2, "auto", 8)]
    tokens = [[[r.token_ids for r in rows] for rows in run] for run in runs]
    assert tokens[0] == tokens[1] == tokens[2]
    assert [r.n_new_tokens for r in runs[0][3]] == [9, 9]


def test_bad_k(tiny_llama: Path) -> None:
    engine = _engine(tiny_llama)
    with pytest.raises(ConfigError, match="k=0"):
        generate_k(engine, [GenerateRequest("A", {})], 0)
