"""The engine's unit of work: one unique model input and the continuations scored on it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One unique model input and the continuations scored at its last positions.

    `tokens` is context + continuation[:-1] (already truncated); every
    continuation in `targets` ends where `tokens` ends.
    """

    tokens: tuple[int, ...]
    targets: tuple[tuple[int, ...], ...]

    @property
    def max_cont(self) -> int:
        return max(len(t) for t in self.targets)


@dataclass(frozen=True)
class TargetScore:
    token_logprobs: tuple[float, ...]
    is_greedy: bool

    @property
    def logprob(self) -> float:
        return float(sum(self.token_logprobs))
