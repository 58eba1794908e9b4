"""Whole-text scoring on top of the loglikelihood engine: LMFlow's NLL and the harness's rolling log-likelihood.

LMFlow NLL (DESIGN.md): segments are tokenized separately without special
tokens and concatenated (`templates.encode_segments`, which SFT label masks use too); the tokens of scored segments count, each exactly
once. A sample longer than the model's context is cut into sliding windows:
each window fills the context, and after the first one it keeps at least
`max_length - stride` tokens of context before the tokens it scores
(stride = max_length // 2 by default).

Harness rolling (`loglikelihood_rolling`): the text is encoded with the
tokenizer's own special-token policy and split into disjoint windows of
`max_length` predicted tokens, the first conditioned on the prefix token, each
later one on the tokens before it that fit in its window (one, except in a
short last window), as lm-evaluation-harness does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lmbench.engine.loglikelihood import LoglikelihoodEngine
from lmbench.engine.requests import NllRequest, RollingRequest
from lmbench.engine.templates import encode_segments
from lmbench.engine.tokenize import EncodedPair


@dataclass(frozen=True)
class NllResult:
    nll: float  # -sum of log-probabilities of the scored tokens, nats
    n_tokens: int  # scored tokens
    n_bytes: int  # UTF-8 bytes of the scored text
    n_windows: int


def sliding_windows(n_tokens: int, first: int, max_length: int, stride: int) -> Iterator[tuple[int, int, int]]:
    """(context start, first target, end) windows covering targets [first, n_tokens) once each.

    The model input of a window is tokens[start:end-1], at most `max_length` tokens. Targets whose whole
    history fits in one window are scored together; after that each window scores `stride` new tokens and
    its first target sees `max_length + 1 - stride` tokens of context (stride 1: every token sees a full
    window, the exact but slowest setting).
    """
    if not 1 <= stride <= max_length:
        raise ValueError(f"stride {stride} must be in 1..{max_length}")
    target = first
    while target < n_tokens:
        end = min(n_tokens, max(target + stride, max_length + 1))
        yield max(0, end - 1 - max_length), target, end
        target = end


def harness_rolling_windows(tokens: list[int], prefix_token: int, max_length: int) -> list[EncodedPair]:
    """lm-evaluation-harness's get_rolling_token_windows(context_len=1) + make_disjoint_window."""
    if not tokens:
        return []
    first = min(max_length, len(tokens))
    pairs = [EncodedPair((prefix_token,), tuple(tokens[:first]), False)]
    done = first
    while done < len(tokens):
        end = min(len(tokens), done + max_length)
        # The window's input is the max_length tokens before `end`; a short last window thus sees more context.
        pairs.append(EncodedPair(tuple(tokens[end - max_length - 1 : done]), tuple(tokens[done:end]), False))
        done = end
    return pairs


class TextScorer:
    """NLL and rolling log-likelihood of whole texts, batched through one LoglikelihoodEngine."""

    def __init__(self, engine: LoglikelihoodEngine, stride: int | None = None) -> None:
        self.engine = engine
        self.max_length = engine.max_length
        self.stride = stride or max(1, self.max_length // 2)
        self.tokenizer = engine.encoder.tokenizer

    def _tokens(self, request: NllRequest) -> tuple[list[int], list[bool], int]:
        tokens, scored = encode_segments(self.tokenizer, request.segments, skip_first=request.skip_first)
        n_bytes = sum(len(text.encode("utf-8")) for text, is_scored in request.segments if is_scored)
        if scored and scored[0]:  # a scored first token needs something to condition on
            tokens.insert(0, self.engine.encoder.prefix_token_id)
            scored.insert(0, False)
        return tokens, scored, n_bytes

    def nll(self, requests: list[NllRequest], bar: Any = None) -> list[NllResult]:
        plans, pairs = [], []
        for request in requests:
            tokens, scored, n_bytes = self._tokens(request)
            first = next((i for i, s in enumerate(scored) if s), len(tokens))
            windows = list(sliding_windows(len(tokens), first, self.max_length, self.stride))
            plans.append((scored, n_bytes, windows, len(pairs)))
            pairs += [EncodedPair(tuple(tokens[s:t]), tuple(tokens[t:e]), False) for s, t, e in windows]
        if bar is not None:
            bar.total = (bar.total or 0) + len(pairs)
            bar.refresh()
        outputs = self.engine.run_pairs(pairs, bar)
        results = []
        for scored, n_bytes, windows, offset in plans:
            total = 0.0
            for k, (_, target, end) in enumerate(windows):
                logprobs = outputs[offset + k].token_logprobs
                total += sum(lp for lp, keep in zip(logprobs, scored[target:end]) if keep)
            results.append(NllResult(-total, sum(scored), n_bytes, len(windows)))
        return results

    def rolling(self, requests: list[RollingRequest], bar: Any = None) -> list[float]:
        """Summed log-likelihood of each text, lm-evaluation-harness loglikelihood_rolling style."""
        spans, pairs = [], []
        for request in requests:
            windows = harness_rolling_windows(list(self.engine.encoder.encode(request.text)),
                                              self.engine.encoder.prefix_token_id, self.max_length)
            spans.append((len(pairs), len(windows)))
            pairs += windows
        if bar is not None:
            bar.total = (bar.total or 0) + len(pairs)
            bar.refresh()
        outputs = self.engine.run_pairs(pairs, bar)
        return [sum(o.logprob for o in outputs[start : start + n]) for start, n in spans]
