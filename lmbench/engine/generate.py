"""Batched free generation: GenerateRequests -> GenerationResults, in input order.

Requests are sorted by prompt length (longest first, so an out-of-memory shows at once), cut into batches,
LEFT-padded by hand (the user's tokenizer and its `padding_side` are never touched) and run through
`model.generate` with an attention mask and one explicit GenerationConfig (pad id set, greedy decoding at
the HF level). Everything that differs per request is handled per row, so any mix of requests can share a
batch:

- Sampling: `RowSampler`, a LogitsProcessor, draws each sampled row's token itself -- temperature, top-k,
  top-p, then inverse-CDF sampling with ONE uniform per step from that row's own `torch.Generator` seeded
  with the request's `seed` -- and hands generate a one-hot score row, so generate's argmax picks it. The
  random stream of a request therefore depends only on its seed, never on which other rows share its batch
  or in what order: the same seed gives the same text batched or alone. Greedy rows pass through untouched.
- Streaming: `stream(request, on_text)` runs one request through the same path, handing text to a
  callback as it is produced (lmbench.engine.streaming); `lmbench generate` prints with it.
- Stopping: `RowStopper`, a StoppingCriteria, ends each row at EOS, at its first stop string or at its own
  `max_new_tokens`; generate stops when every row has ended. Texts are cut at the first stop string.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from lmbench.engine.batching import parse_batch_size
from lmbench.engine.memory import run_halving
from lmbench.engine.requests import GenerateRequest
from lmbench.errors import ConfigError

# --batch-size auto: rows per batch, capped by (prompt + new) tokens per batch. On CPU the decode step is bound
# by reading the weights, so rows are nearly free up to a few dozen; see benchmarks/generation_throughput.py.
AUTO_GEN_ROWS = {"cpu": 16, "cuda": 64}
AUTO_GEN_TOKENS = {"cpu": 8192, "cuda": 131072}
StopReason = Literal["eos", "stop", "length"]


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings of one request; built by `from_dict`, which rejects unknown keys and bad values."""

    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: no top-k cut
    seed: int = 0  # sampling only; the default makes an unseeded sampled request reproducible too
    stop: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> GenerationParams:
        unknown = sorted(set(params) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown generation parameter(s) {', '.join(map(repr, unknown))}; expected "
                              f"{', '.join(cls.__dataclass_fields__)}")
        p = {k: v for k, v in params.items() if v is not None}

        def need(ok: bool, key: str, expected: str) -> None:
            if not ok:
                raise ConfigError(f"generation parameter {key}={params[key]!r} is invalid; expected {expected}")

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if "max_new_tokens" in p:
            need(is_int(p["max_new_tokens"]) and p["max_new_tokens"] >= 1, "max_new_tokens", "an integer >= 1")
        if "do_sample" in p:
            need(isinstance(p["do_sample"], bool), "do_sample", "true or false")
        if "temperature" in p:
            need(is_num(p["temperature"]) and p["temperature"] > 0, "temperature", "a number > 0")
            p["temperature"] = float(p["temperature"])
        if "top_p" in p:
            need(is_num(p["top_p"]) and 0 < p["top_p"] <= 1, "top_p", "a number in (0, 1]")
            p["top_p"] = float(p["top_p"])
        if "top_k" in p:
            need(is_int(p["top_k"]) and p["top_k"] >= 0, "top_k", "an integer >= 0 (0: no cut)")
        if "seed" in p:
            need(is_int(p["seed"]), "seed", "an integer")
        if "stop" in p:
            stop = [p["stop"]] if isinstance(p["stop"], str) else p["stop"]
            need(isinstance(stop, (list, tuple)) and all(isinstance(s, str) and s for s in stop), "stop",
                 "a list of non-empty strings")
            p["stop"] = tuple(stop)
        return cls(**p)


@dataclass(frozen=True)
class GenerationResult:
    text: str  # generated text, special tokens skipped, cut before the first stop string
    n_prompt_tokens: int
    n_new_tokens: int  # tokens generated, EOS or the token completing a stop string included
    stopped_by: StopReason
    token_ids: tuple[int, ...]  # the n_new_tokens generated ids


class RowSampler(LogitsProcessor):
    """Per-row sampling with per-row generators (see the module docstring); greedy rows pass through."""

    def __init__(self, params: list[GenerationParams]) -> None:
        self.rows = [i for i, p in enumerate(params) if p.do_sample]
        self.generators = [torch.Generator().manual_seed(params[i].seed) for i in self.rows]
        self.temperature = torch.tensor([params[i].temperature for i in self.rows])[:, None]
        self.top_p = torch.tensor([params[i].top_p for i in self.rows], dtype=torch.float64)[:, None]
        self.top_k = torch.tensor([params[i].top_k for i in self.rows])[:, None]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if not self.rows:
            return scores
        device = scores.device
        logits = scores[self.rows].float() / self.temperature.to(device)
        probs = torch.softmax(logits.double(), dim=-1)
        u = torch.cat([torch.rand(1, generator=g, dtype=torch.float64) for g in self.generators]).to(device)
        chosen = sample_tokens(probs, u, self.top_k.to(device), self.top_p.to(device))
        out = scores.clone()
        out[self.rows] = float("-inf")
        out[torch.tensor(self.rows, device=device)[:, None], chosen] = 0.0
        return out


# The draw is defined on the full descending sort (`sorted_picks`); `prefix_picks` reaches the same token from
# the top PREFIX_TOKENS probabilities alone (a top-k, ~20x cheaper than sorting a 50k vocabulary) and gives up
# on a row whenever its answer could differ: a tie in the prefix, a top-k or nucleus cut it cannot see, or a
# draw within PICK_MARGIN of a boundary. PICK_MARGIN bounds, with a wide margin, the rounding difference of two
# summation orders over the vocabulary (n * eps ~ 5e-12 for n = 50k doubles), so the pick is the same token.
PREFIX_TOKENS = 256
PICK_MARGIN = 1e-10


def sample_tokens(probs: torch.Tensor, u: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """One token id per row ([rows, 1]): top-k, then top-p on the renormalised rest (as HF), then the inverse
    CDF at u over the kept tokens in descending order (ties by token id)."""
    picks = prefix_picks(probs, u, top_k, top_p)
    slow = (picks[:, 0] < 0).nonzero()[:, 0]
    if slow.numel():
        picks[slow] = sorted_picks(probs[slow], u[slow], top_k[slow], top_p[slow])
    return picks


def sorted_picks(probs: torch.Tensor, u: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """The definition: a full stable descending sort of each row."""
    probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    rank = torch.arange(probs.shape[-1], device=probs.device)[None, :]
    probs = probs * ((top_k == 0) | (rank < top_k))
    probs = probs / probs.sum(-1, keepdim=True)
    keep = (probs > 0) & ((probs.cumsum(-1) - probs) < top_p)  # mass before it below top_p
    keep[:, 0] = True
    probs = probs * keep
    cdf = probs.cumsum(-1)
    pick = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None], right=True).clamp(max=probs.shape[-1] - 1)
    pick = torch.minimum(pick, keep.sum(-1, keepdim=True) - 1)  # never past the last kept token
    return order.gather(-1, pick)


def prefix_picks(probs: torch.Tensor, u: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """`sorted_picks`'s token from the top PREFIX_TOKENS alone, or -1 for a row it cannot decide exactly."""
    rows, vocab = probs.shape
    m = PREFIX_TOKENS
    undecided = torch.full((rows, 1), -1, dtype=torch.long, device=probs.device)
    if vocab <= m + 1:
        return undecided
    top, idx = torch.topk(probs, m + 1, dim=-1)  # descending; the extra one shows a tie at the prefix's edge
    tie = (top[:, :-1] == top[:, 1:]).any(-1)  # topk orders ties arbitrarily, the definition by token id
    vals, idx = top[:, :m], idx[:, :m]
    k, p = top_k[:, 0], top_p[:, 0]
    k_cut = (k > 0) & (k <= m)
    rank = torch.arange(m, device=probs.device)[None, :]
    vals = vals * (~k_cut[:, None] | (rank < k[:, None]))
    q = vals / torch.where(k_cut, vals.sum(-1), probs.sum(-1))[:, None]  # renormalised after top-k
    before = q.cumsum(-1) - q
    kept = (q > 0) & (before < p[:, None])
    kept[:, 0] = True
    n_kept = kept.sum(-1)
    cdf = (q * kept).cumsum(-1)
    # Either the kept set ends inside the prefix (a top-k cut, or the nucleus closes there), or top_p = 1 keeps
    # every token with less than 1.0 before it: all the mass but a tail of rounding size.
    inside = k_cut | (n_kept < m)
    total = torch.where(inside, cdf[:, -1], torch.ones_like(p))
    target = u * total
    j = torch.searchsorted(cdf, target[:, None], right=True)[:, 0].clamp(max=m - 1)
    upper = cdf.gather(-1, j[:, None])[:, 0]
    lower = torch.where(j > 0, cdf.gather(-1, (j - 1).clamp(min=0)[:, None])[:, 0], torch.zeros_like(p))
    margin = 3 * PICK_MARGIN  # the whole-vocabulary total may be off by up to twice PICK_MARGIN
    ok = ~tie & ((k <= m) | (k >= vocab)) & (inside | (p >= 1.0)) & (j < n_kept)
    ok &= (upper - target > margin) & (target - lower > margin)
    near_cut = ((before - p[:, None]).abs() <= PICK_MARGIN) & (rank <= n_kept[:, None])
    ok &= ~(inside & near_cut.any(-1))  # every keep decision up to the cut is clear
    ok &= inside | (before.gather(-1, j[:, None])[:, 0] < 1.0 - PICK_MARGIN)  # the pick itself is kept
    return torch.where(ok[:, None], idx.gather(-1, j[:, None]), undecided)


class RowStopper(StoppingCriteria):
    """Ends rows at EOS, at a stop string or at their own max_new_tokens; records why and after how many tokens."""

    def __init__(self, tokenizer: Any, params: list[GenerationParams], prompt_width: int, eos_ids: set[int],
                 bar: Any) -> None:
        self.tokenizer, self.params, self.width, self.eos_ids, self.bar = tokenizer, params, prompt_width, eos_ids, bar
        self.reason: list[StopReason | None] = [None] * len(params)
        self.n_new = [0] * len(params)
        self.tail = [max((len(s) for s in p.stop), default=0) + 8 for p in params]  # tokens to decode per check
        self.tokens = 0
        self.start = time.perf_counter()

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        step = input_ids.shape[1] - self.width
        last = input_ids[:, -1].tolist()
        finished = 0
        for i, p in enumerate(self.params):
            if self.reason[i] is not None:
                continue
            self.tokens += 1
            reason: StopReason | None = None
            if last[i] in self.eos_ids:
                reason = "eos"
            elif p.stop and self._hit_stop(input_ids[i, max(self.width, input_ids.shape[1] - self.tail[i]):], p):
                reason = "stop"
            elif step >= p.max_new_tokens:
                reason = "length"
            if reason is not None:
                self.reason[i], self.n_new[i] = reason, step
                finished += 1
        if self.bar is not None:
            rate = self.tokens / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix_str(f"{rate:.1f} tok/s", refresh=False)
            self.bar.update(finished)
        return torch.tensor([r is not None for r in self.reason], device=input_ids.device)

    def _hit_stop(self, ids: torch.Tensor, p: GenerationParams) -> bool:
        text = self.tokenizer.decode(ids.tolist(), skip_special_tokens=True)
        return any(s in text for s in p.stop)



class GenerationEngine:
    """Runs GenerateRequests with one loaded model; see the module docstring for batching and seeding."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int, *, batch_size: str | int = "auto",
                 progress: bool = True) -> None:
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length
        self.batch_size = parse_batch_size(batch_size)
        self.progress = progress
        self.device = next(model.parameters()).device
        eos = getattr(model.generation_config, "eos_token_id", None)
        eos_list = eos if isinstance(eos, list) else ([] if eos is None else [eos])
        if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos_list:
            eos_list = [*eos_list, tokenizer.eos_token_id]
        self.eos_ids = set(eos_list)
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (eos_list[0] if eos_list else 0)
        self.config = GenerationConfig(do_sample=False, num_beams=1, pad_token_id=self.pad_id,
                                       eos_token_id=eos_list or None, bos_token_id=tokenizer.bos_token_id,
                                       use_cache=True)

    def encode(self, prompt: str) -> list[int]:
        """Prompt ids; special tokens (BOS) added unless the prompt already starts with the BOS text."""
        bos = self.tokenizer.bos_token
        add = not (bos and prompt.startswith(bos))
        return list(self.tokenizer(prompt, add_special_tokens=add)["input_ids"])

    def _check(self, index: int, ids: list[int], p: GenerationParams) -> None:
        limit = self.max_length - p.max_new_tokens
        if not ids:
            raise ConfigError(f"generation prompt {index} is empty (0 tokens); give it some text")
        if len(ids) > limit:
            raise ConfigError(
                f"generation prompt {index} is {len(ids)} tokens, over max_length {self.max_length} - max_new_tokens "
                f"{p.max_new_tokens} = {limit}; shorten the prompt, lower max_new_tokens or raise --max-length"
            )

    def _batches(self, order: list[int], ids: list[list[int]], params: list[GenerationParams]) -> list[list[int]]:
        if self.batch_size is not None:
            return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        rows_cap = AUTO_GEN_ROWS.get(self.device.type, AUTO_GEN_ROWS["cpu"])
        budget = AUTO_GEN_TOKENS.get(self.device.type, AUTO_GEN_TOKENS["cpu"])
        batches: list[list[int]] = []
        for i in order:  # longest prompt first: a batch's width is its first row's length
            if batches:
                cur = batches[-1]
                width = len(ids[cur[0]]) + max(params[j].max_new_tokens for j in cur + [i])
                if len(cur) < rows_cap and width * (len(cur) + 1) <= budget:
                    cur.append(i)
                    continue
            batches.append([i])
        return batches

    def run(self, requests: list[GenerateRequest]) -> list[GenerationResult]:
        """Generate for every request; results in input order."""
        params = [GenerationParams.from_dict(dict(r.params)) for r in requests]
        ids = [self.encode(r.prompt) for r in requests]
        for index, (row, p) in enumerate(zip(ids, params)):
            self._check(index, row, p)
        order = sorted(range(len(requests)), key=lambda i: -len(ids[i]))
        results: list[GenerationResult | None] = [None] * len(requests)
        bar = tqdm(total=len(requests), desc="generate", unit="req", disable=not self.progress, file=sys.stderr,
                   dynamic_ncols=True)
        try:
            for batch in self._batches(order, ids, params):
                for i, result in zip(batch, self._run_with_backoff(batch, ids, params, bar)):
                    results[i] = result
        finally:
            bar.close()
        return results  # type: ignore[return-value]

    def stream(self, request: GenerateRequest, on_text: Callable[[str], None]) -> GenerationResult:
        """Generate for one request, calling `on_text(piece)` as text is produced; the pieces join to the
        result's text (stop strings cut as in `run`). Same decoding, seeding and checks as `run`."""
        from lmbench.engine.streaming import TextCallbackStreamer

        params = GenerationParams.from_dict(dict(request.params))
        ids = self.encode(request.prompt)
        self._check(0, ids, params)
        streamer = TextCallbackStreamer(self.tokenizer, on_text, params.stop)
        result = self._run_batch([ids], [params], None, streamer=streamer)[0]
        streamer.finish(result.text)
        return result

    def _run_with_backoff(self, batch: list[int], ids: list[list[int]], params: list[GenerationParams],
                          bar: Any) -> list[GenerationResult]:
        def shrink(half: int) -> None:
            if self.batch_size is not None:
                self.batch_size = half

        return run_halving(batch, lambda rows: self._run_batch([ids[i] for i in rows], [params[i] for i in rows], bar),
                           on_halve=shrink,
                           too_big=lambda i: f"out of memory generating for one prompt of {len(ids[i])} tokens; "
                                             "lower max_new_tokens or use a device with more memory")

    def _config_for(self, max_new_tokens: int) -> GenerationConfig:
        config = copy.deepcopy(self.config)
        config.max_new_tokens = max_new_tokens
        return config

    def _run_batch(self, rows: list[list[int]], params: list[GenerationParams], bar: Any,
                   streamer: Any = None) -> list[GenerationResult]:
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):  # left padding
            input_ids[i, width - len(r):] = torch.tensor(r)
            mask[i, width - len(r):] = 1
        stopper = RowStopper(self.tokenizer, params, width, self.eos_ids, bar if self.progress else None)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                generation_config=self._config_for(max(p.max_new_tokens for p in params)),
                logits_processor=LogitsProcessorList([RowSampler(params)]),
                stopping_criteria=StoppingCriteriaList([stopper]), streamer=streamer,
            )
        new = out[:, width:].tolist()
        return [self._result(row, p, new[i], stopper.reason[i], stopper.n_new[i])
                for i, (row, p) in enumerate(zip(rows, params))]

    def _result(self, prompt: list[int], p: GenerationParams, new: list[int], reason: StopReason | None,
                n_new: int) -> GenerationResult:
        if reason is None:  # generate ended the row without our criteria seeing it (should not happen)
            reason, n_new = "length", min(len(new), p.max_new_tokens)
        token_ids = new[:n_new]
        body = token_ids[:-1] if reason == "eos" else token_ids
        text = self.tokenizer.decode(body, skip_special_tokens=True)
        cuts = [text.find(s) for s in p.stop if s in text]
        if cuts:
            text, reason = text[:min(cuts)], "stop"
        return GenerationResult(text, len(prompt), len(token_ids), reason, tuple(token_ids))


def fit_prompts(engine: GenerationEngine, requests: list[GenerateRequest]) -> tuple[list[GenerateRequest], list[bool]]:
    """Cut prompts longer than the context (minus the answer's room) from the left, keeping the latest turns;
    such samples are flagged rather than failing the whole run."""
    fitted, truncated = [], []
    for request in requests:
        room = engine.max_length - int(request.params.get("max_new_tokens", 128))
        ids = engine.encode(request.prompt)
        prompt = request.prompt
        while len(ids) > room and room > 0:
            prompt = engine.tokenizer.decode(ids[-(room - 2):], skip_special_tokens=True)  # re-encoding may grow
            ids = engine.encode(prompt)
            room -= 2
        fitted.append(GenerateRequest(prompt, request.params))
        truncated.append(prompt != request.prompt)
        if truncated[-1]:
            from lmbench.engine.notices import note_cut

            note_cut(request.prompt, engine.max_length)
    return fitted, truncated
