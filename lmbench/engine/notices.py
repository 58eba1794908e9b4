"""Prompts the engine had to cut to fit the model's context, counted so the CLI can say so once per run."""

from __future__ import annotations

_cut: dict[int, set[int]] = {}  # max_length -> hashes of the distinct prompts cut to fit it


def note_cut(prompt: tuple[int, ...] | str, max_length: int) -> None:
    """Record that `prompt` (its tokens or text) lost its first tokens to fit `max_length`."""
    _cut.setdefault(max_length, set()).add(hash(prompt))


def take_cut() -> dict[int, int]:
    """{max_length: number of distinct prompts cut} since the last call; resets the count."""
    counts = {length: len(prompts) for length, prompts in _cut.items()}
    _cut.clear()
    return counts
