"""Batched loglikelihood scoring, harness-compatible and without wasted work.

Identical model inputs (MC choices that differ only in a one-token
continuation) share one row; rows sharing a long prefix reuse its key/value
cache; batches are sorted by length and padded on the right; log-softmax is
taken only at continuation positions.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

from lmbench.engine.batching import AUTO_TOKEN_BUDGET, Group, cut_batches, parse_batch_size, plan_groups
from lmbench.engine.forward import Scorer
from lmbench.engine.memory import run_halving
from lmbench.engine.rows import Row
from lmbench.engine.requests import LoglikelihoodRequest, LoglikelihoodResult
from lmbench.engine.notices import note_cut
from lmbench.engine.tokenize import EncodedPair, PairEncoder



class LoglikelihoodEngine:
    """Scores LoglikelihoodRequests with one loaded model."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int, *, batch_size: str | int = "auto",
                 reuse_prefix: bool = True, progress: bool = True) -> None:
        self.encoder = PairEncoder(tokenizer)
        self.scorer = Scorer(model, pad_id=tokenizer.pad_token_id or 0)
        self.max_length = max_length
        self.batch_size = parse_batch_size(batch_size)
        self.token_budget = AUTO_TOKEN_BUDGET.get(self.scorer.device.type, AUTO_TOKEN_BUDGET["cpu"])
        self.reuse_prefix = reuse_prefix and self.scorer.prefix_reuse
        self.progress = progress

    def _rows(self, pairs: list[EncodedPair]) -> tuple[list[Row], dict, list[bool], list[int]]:
        by_input: dict[tuple[int, ...], dict[tuple[int, ...], list[int]]] = {}
        flagged, n_tokens = [], []
        for index, pair in enumerate(pairs):
            cont = pair.continuation[-self.max_length:]
            tokens = (pair.context + cont)[-(self.max_length + 1):][:-1]
            if len(pair.context) + len(cont) > self.max_length + 1:
                note_cut(pair.context, self.max_length)  # its first tokens are dropped: the CLI warns once
            by_input.setdefault(tokens, {}).setdefault(cont, []).append(index)
            flagged.append(pair.flagged or len(cont) < len(pair.continuation))
            n_tokens.append(len(cont))
        rows = [Row(tokens, tuple(targets)) for tokens, targets in by_input.items()]
        return rows, by_input, flagged, n_tokens

    def run(self, requests: list[LoglikelihoodRequest], bar: Any = None) -> list[LoglikelihoodResult]:
        """Results in request order; `bar` is an outer progress bar to advance instead of a new one."""
        return self.run_pairs([self.encoder.encode_pair(r.context, r.continuation) for r in requests], bar)

    def run_pairs(self, pairs: list[EncodedPair], bar: Any = None) -> list[LoglikelihoodResult]:
        """Score already-tokenized (context, continuation) pairs; results in input order."""
        if not pairs:
            return []
        rows, by_input, flagged, n_tokens = self._rows(pairs)
        groups = plan_groups(rows, self.reuse_prefix)
        results: list[LoglikelihoodResult | None] = [None] * len(pairs)
        own_bar = bar is None
        if own_bar:
            bar = tqdm(total=len(pairs), desc="loglikelihood", unit="req", disable=not self.progress,
                       file=sys.stderr, dynamic_ncols=True)
        for group in groups:
            for batch in cut_batches(group.rows, self.batch_size, self.token_budget, len(group.prefix)):
                for row, scores in zip(batch, self._score_with_backoff(batch, group)):
                    original = group.prefix + row.tokens
                    for target, score in zip(row.targets, scores):
                        for index in by_input[original][target]:
                            results[index] = LoglikelihoodResult(score.logprob, score.is_greedy, n_tokens[index],
                                                                 flagged[index], score.token_logprobs)
                            bar.update(1)
        if own_bar:
            bar.close()
        return results  # type: ignore[return-value]

    def _score_with_backoff(self, batch: list[Row], group: Group) -> list:
        def shrink(half: int) -> None:
            if self.batch_size is None:
                self.token_budget = max(1, self.token_budget // 2)
            else:
                self.batch_size = half

        return run_halving(batch, lambda rows: self.scorer.score(rows, prefix=group.prefix or None), on_halve=shrink,
                           too_big=lambda row: f"out of memory scoring one request of {len(group.prefix) + len(row.tokens)} "
                                               "tokens; lower --max-length or use a device with more memory")
