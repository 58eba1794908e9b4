"""K responses per prompt from ONE prefill of the prompt (RAFT's best-of-K sampling).

transformers' `generate(num_return_sequences=K)` repeats each prompt K times before the prefill, so the
prompt is encoded K times. Here a batch of prompts is prefilled once -- the same forward pass generate's
prefill makes (left-padded, position ids from the mask) -- its last logits and key/value cache are expanded
to K rows per prompt (`DynamicCache.batch_repeat_interleave`), the first new token of every row is picked
from those logits by the engine's `RowSampler`, and `model.generate` continues from the expanded cache with
the same sampler and `RowStopper`. So per-row seeds, stop strings and lengths behave exactly as in
`GenerationEngine.run`: sample j of a request with seed s is the text `run` gives for that prompt with
seed s + j. Greedy requests give K copies of the greedy answer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from transformers import LogitsProcessorList, StoppingCriteriaList

from lmbench.engine.generate import (
    AUTO_GEN_ROWS,
    AUTO_GEN_TOKENS,
    GenerationEngine,
    GenerationParams,
    GenerationResult,
    RowSampler,
    RowStopper,
)
from lmbench.engine.memory import run_halving
from lmbench.engine.requests import GenerateRequest
from lmbench.errors import ConfigError


def row_params(params: GenerationParams, k: int) -> list[GenerationParams]:
    """The K rows of one request: seeds seed, seed + 1, ..., seed + K - 1."""
    return [replace(params, seed=params.seed + j) for j in range(k)]


def _groups(engine: GenerationEngine, order: list[int], ids: list[list[int]], params: list[GenerationParams],
            k: int) -> list[list[int]]:
    """Prompts per batch so that prompts * K rows fit the engine's row cap and token budget."""
    if engine.batch_size is not None:
        per = max(1, engine.batch_size // k)
        return [order[i:i + per] for i in range(0, len(order), per)]
    rows_cap = AUTO_GEN_ROWS.get(engine.device.type, AUTO_GEN_ROWS["cpu"])
    budget = AUTO_GEN_TOKENS.get(engine.device.type, AUTO_GEN_TOKENS["cpu"])
    groups: list[list[int]] = []
    for i in order:
        if groups:
            cur = groups[-1]
            width = len(ids[cur[0]]) + max(params[j].max_new_tokens for j in cur + [i])
            if (len(cur) + 1) * k <= rows_cap and width * (len(cur) + 1) * k <= budget:
                cur.append(i)
                continue
        groups.append([i])
    return groups


def generate_k(engine: GenerationEngine, requests: list[GenerateRequest], k: int) -> list[list[GenerationResult]]:
    """K results per request (see the module docstring), in input order."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"k={k!r} responses per prompt is invalid; expected an integer >= 1")
    params = [GenerationParams.from_dict(dict(r.params)) for r in requests]
    ids = [engine.encode(r.prompt) for r in requests]
    for index, (row, p) in enumerate(zip(ids, params)):
        engine._check(index, row, p)
    order = sorted(range(len(requests)), key=lambda i: -len(ids[i]))
    results: list[list[GenerationResult] | None] = [None] * len(requests)
    for group in _groups(engine, order, ids, params, k):
        done = run_halving(group, lambda rows: _run_group(engine, [ids[i] for i in rows], [params[i] for i in rows], k),
                           on_halve=lambda half: None,
                           too_big=lambda i: f"out of memory sampling {k} responses for one prompt of {len(ids[i])} "
                                             "tokens; lower k or max_new_tokens")
        for i, result in zip(group, done):
            results[i] = result
    return results  # type: ignore[return-value]


def _prefill(model: Any, input_ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """Last-position logits and key/value cache of the whole (left-padded) prompts, positions as generate
    derives them from the mask -- the same forward pass generate's own prefill makes."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config.get_text_config(decoder=True))
    position_ids = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    out = model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids, cache=cache, use_cache=True,
                logits_to_keep=1)
    return out.logits[:, -1, :].to(dtype=torch.float32), cache


def _run_group(engine: GenerationEngine, rows: list[list[int]], params: list[GenerationParams],
               k: int) -> list[list[GenerationResult]]:
    """Prefill once per prompt, take the first token of each of the K rows from those logits (the engine's
    RowSampler, so seeds and greedy ties behave as in `run`), then let generate continue from the expanded
    cache with the same sampler and stopper."""
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), engine.pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):  # left padding, as the engine pads
        input_ids[i, width - len(r):] = torch.tensor(r)
        mask[i, width - len(r):] = 1
    input_ids, mask = input_ids.to(engine.device), mask.to(engine.device)
    expanded = [q for p in params for q in row_params(p, k)]
    sampler = RowSampler(expanded)
    stopper = RowStopper(engine.tokenizer, expanded, width, engine.eos_ids, None)
    with torch.inference_mode():
        logits, cache = _prefill(engine.model, input_ids, mask)
        cache.batch_repeat_interleave(k)
        ids_k, mask_k = input_ids.repeat_interleave(k, dim=0), mask.repeat_interleave(k, dim=0)
        first = sampler(ids_k, logits.repeat_interleave(k, dim=0)).argmax(dim=-1, keepdim=True)
        ids_k = torch.cat([ids_k, first], dim=1)
        mask_k = torch.cat([mask_k, torch.ones_like(first)], dim=1)
        done = stopper(ids_k, None)
        out = ids_k
        longest = max(p.max_new_tokens for p in params)
        if not bool(done.all()) and longest > 1:
            out = engine.model.generate(
                input_ids=ids_k, attention_mask=mask_k, cache=cache,
                generation_config=engine._config_for(longest - 1),
                logits_processor=LogitsProcessorList([sampler]), stopping_criteria=StoppingCriteriaList([stopper]),
            )
    new = out[:, width:].tolist()
    flat = [engine._result(rows[n // k], p, new[n], stopper.reason[n], stopper.n_new[n])
            for n, p in enumerate(expanded)]
    return [flat[i * k:(i + 1) * k] for i in range(len(rows))]
