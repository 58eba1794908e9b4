"""The sampled-token draw: the top-PREFIX_TOKENS shortcut picks exactly the token the full sort defines."""

from __future__ import annotations

import pytest
import torch

from lmbench.engine.generate import PREFIX_TOKENS, prefix_picks, sample_tokens, sorted_picks

VOCAB = 49152  # SmolLM2's
# One row per setting: (top_k, top_p); the model's row scale varies per batch below.
SETTINGS = [(0, 1.0), (0, 0.9), (0, 0.5), (0, 0.99), (5, 1.0), (50, 0.8), (PREFIX_TOKENS, 1.0), (300, 1.0),
            (0, 0.3), (40, 0.95), (0, 0.7), (1, 1.0), (0, 1e-3), (VOCAB, 1.0), (PREFIX_TOKENS + 1, 0.9), (2, 0.5)]


def _batch(seed: int, scale: float, ties: bool = False) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(len(SETTINGS), VOCAB, generator=g) * scale
    if ties:
        logits[:, :PREFIX_TOKENS + 50] = logits.max() + 1.0  # equal top probabilities, wider than the prefix
    probs = torch.softmax(logits.double(), dim=-1)
    u = torch.rand(len(SETTINGS), generator=g, dtype=torch.float64)
    top_k = torch.tensor([[k for k, _ in SETTINGS]]).T
    top_p = torch.tensor([[p for _, p in SETTINGS]], dtype=torch.float64).T
    return probs, u, top_k, top_p


@pytest.mark.parametrize("scale", [0.5, 2.0, 5.0, 12.0, 40.0])
def test_shortcut_picks_the_sorted_token(scale: float) -> None:
    decided = 0
    for seed in range(8):
        probs, u, top_k, top_p = _batch(seed, scale)
        assert torch.equal(sample_tokens(probs, u, top_k, top_p), sorted_picks(probs, u, top_k, top_p))
        fast = prefix_picks(probs, u, top_k, top_p)
        decided += int((fast >= 0).sum())
        assert torch.equal(fast[fast >= 0], sorted_picks(probs, u, top_k, top_p)[fast >= 0])
    if scale >= 5.0:  # peaked rows (a language model's): the shortcut decides most draws
        assert decided > 0.5 * 8 * len(SETTINGS)


def test_shortcut_gives_up_on_ties_unseen_cuts_and_boundaries() -> None:
    probs, u, top_k, top_p = _batch(1, 12.0, ties=True)
    assert (prefix_picks(probs, u, top_k, top_p) < 0).all()  # ties: topk's order is not the definition's
    assert torch.equal(sample_tokens(probs, u, top_k, top_p), sorted_picks(probs, u, top_k, top_p))

    probs, u, top_k, top_p = _batch(2, 12.0)
    row = [s for s, (k, _) in enumerate(SETTINGS) if k == PREFIX_TOKENS + 1][0]
    assert prefix_picks(probs, u, top_k, top_p)[row, 0] == -1  # a top-k cut past the prefix

    row = 0  # top_k 0, top_p 1: put u exactly on the boundary between the first and second tokens
    first = probs[row].max()
    u[row] = first / probs[row].sum()
    assert prefix_picks(probs, u, top_k, top_p)[row, 0] == -1
    assert torch.equal(sample_tokens(probs, u, top_k, top_p), sorted_picks(probs, u, top_k, top_p))
