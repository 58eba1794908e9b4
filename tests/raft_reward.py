"""An exactly computed reward for RAFT tests: `python:raft_reward:digit_share`.

reward(response) = share of the response's non-space characters that are ASCII digits (0 for an empty
response), so "more digits" is the whole preference and a test can compute every reward by hand.
"""

from __future__ import annotations


def share(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(c.isdigit() for c in chars) / len(chars) if chars else 0.0


def digit_share(prompts: list[str], responses: list[str]) -> list[float]:
    return [share(r) for r in responses]
