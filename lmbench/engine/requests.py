"""The three request kinds tasks may issue, and what the engine returns for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """log p(continuation | context), summed over the continuation's tokens."""

    context: str
    continuation: str


@dataclass(frozen=True)
class RollingRequest:
    """Log-likelihood of a whole text, scored in windows so every token is counted once."""

    text: str


@dataclass(frozen=True)
class NllRequest:
    """LMFlow NLL: segments tokenized separately (no special tokens) and concatenated; only tokens of segments
    marked scored count. `skip_first` leaves the first token unscored (text_only: it has no context)."""

    segments: tuple[tuple[str, bool], ...]
    skip_first: bool = False


@dataclass(frozen=True)
class GenerateRequest:
    """Free generation from a prompt; `params` holds decoding settings (max_new_tokens, stop, ...)."""

    prompt: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RewardRequest:
    """A reward model's score of (prompt, response) (lmbench.engine.reward.PAIR_FORMAT); the engine returns a float."""

    prompt: str
    response: str


@dataclass(frozen=True)
class LoglikelihoodResult:
    logprob: float  # summed log-probability of the continuation tokens, natural log
    is_greedy: bool  # every continuation token was the argmax
    n_tokens: int  # continuation tokens scored
    flagged: bool = False  # context/continuation split was misaligned; encoded separately
    token_logprobs: tuple[float, ...] = ()  # per continuation token, in order
