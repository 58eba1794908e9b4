"""Multiple-choice scoring, as lm-evaluation-harness defines acc and acc_norm."""

from __future__ import annotations

from collections.abc import Sequence


def argmax(values: Sequence[float]) -> int:
    """Index of the first maximum (numpy.argmax tie-breaking)."""
    best = 0
    for i, value in enumerate(values):
        if value > values[best]:
            best = i
    return best


def choice_scores(logprobs: Sequence[float], choices: Sequence[str], gold: int) -> dict[str, float]:
    """acc: argmax of summed log-probs; acc_norm: log-probs divided by each choice's character length."""
    normed = [lp / max(len(c), 1) for lp, c in zip(logprobs, choices)]
    return {"acc": float(argmax(logprobs) == gold), "acc_norm": float(argmax(normed) == gold)}
