"""RAFT's data collection, as pure functions: discard rules, `local` / `top` ranking, the kept set's hash.

LMFlow's raft_aligner discards a response containing "#" (its Robin template's marker leaking into the
reply) or shorter than 2 characters, by giving it reward -inf. Here a response is discarded when it is
empty or under `min_chars` characters after stripping, contains one of `discard_substrings` (default
"#", as LMFlow), or is degenerate: at least 8 words of which one word makes more than half (a loop).
- `local` (best-of-K): per prompt, the highest-reward response among its non-discarded ones; a prompt
  whose K responses are all discarded contributes nothing (LMFlow does the same).
- `top`: all non-discarded responses of the batch ranked by reward, the best `int(n * top_fraction)`
  kept (n = number of responses generated, as LMFlow's `int(len(rewards) * alpha)`; at least one).
Ties are broken by position (the first prompt, the first sample), so a selection is deterministic.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    prompt_index: int
    sample_index: int
    prompt: str
    response: str
    reward: float
    discarded: str | None  # why (empty | short | substring | degenerate), None when usable


def discard_reason(text: str, *, min_chars: int = 2, substrings: tuple[str, ...] = ("#",)) -> str | None:
    body = text.strip()
    if not body:
        return "empty"
    if len(body) < min_chars:
        return "short"
    if any(s and s in body for s in substrings):
        return "substring"
    words = body.lower().split()
    if len(words) >= 8 and Counter(words).most_common(1)[0][1] * 2 > len(words):
        return "degenerate"
    return None


def select_local(candidates: list[Candidate]) -> list[Candidate]:
    """Best usable response of each prompt (prompt order)."""
    best: dict[int, Candidate] = {}
    for c in candidates:
        if c.discarded is None and (c.prompt_index not in best or c.reward > best[c.prompt_index].reward):
            best[c.prompt_index] = c
    return [best[i] for i in sorted(best)]


def select_top(candidates: list[Candidate], fraction: float) -> list[Candidate]:
    """The global top `fraction` of all generated responses, among the usable ones (reward order)."""
    usable = [c for c in candidates if c.discarded is None]
    n_keep = min(len(usable), max(1, int(len(candidates) * fraction)))
    ranked = sorted(usable, key=lambda c: (-c.reward, c.prompt_index, c.sample_index))
    return ranked[:n_keep]


def kept_hash(kept: list[Candidate]) -> str:
    """Content hash of the kept (prompt, response) set, order-free (16 hex)."""
    items = sorted(json.dumps([c.prompt, c.response]) for c in kept)
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]
