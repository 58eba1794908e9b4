"""Paired comparison of two models scored on the same samples: bootstrap and McNemar's exact test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmbench.metrics.stats import (
    StatsInputError,
    Values,
    as_scores,
    bootstrap_sums,
    check_bootstrap_args,
    mean_stderr,
    percentile_interval,
)

__all__ = ["McNemar", "PairedComparison", "mcnemar_exact", "paired_compare"]

# Up to this many discordant pairs the binomial tail is summed exactly in integers; above it,
# scipy.stats.binom.cdf (imported lazily) is used -- exact summation grows quadratically.
_EXACT_BINOM_MAX = 1000


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test on paired 0/1 scores.

    b01: samples model A got wrong and model B right; b10: A right and B wrong.
    p_value = min(1, 2 * P(X <= min(b01, b10))) with X ~ Binomial(b01 + b10, 1/2); 1.0 when b01 + b10 = 0.
    """

    b01: int
    b10: int
    p_value: float


@dataclass(frozen=True)
class PairedComparison:
    """Model B against model A on the same n samples (d_i = b_i - a_i).

    diff = mean_b - mean_a; stderr_diff = sd(d, ddof=1) / sqrt(n); [ci_low, ci_high] is the
    percentile bootstrap interval of mean(d); p_value is the two-sided paired bootstrap
    p-value (see ``paired_compare``); mcnemar is set only when both inputs are all 0/1.
    """

    n: int
    mean_a: float
    mean_b: float
    diff: float
    stderr_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    mcnemar: McNemar | None
    confidence: float
    n_resamples: int
    seed: int


def _binom_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2): exact rational sum up to _EXACT_BINOM_MAX trials, else scipy."""
    if k >= n:
        return 1.0
    if n <= _EXACT_BINOM_MAX:
        term, total = 1, 1  # C(n, 0)
        for j in range(k):
            term = term * (n - j) // (j + 1)  # C(n, j + 1), exact
            total += term
        return total / (1 << n)  # int / int is correctly rounded
    from scipy.stats import binom

    return float(binom.cdf(k, n, 0.5))


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0.0) | (x == 1.0)))


def _matched(a: Values, b: Values) -> tuple[np.ndarray, np.ndarray]:
    xa, xb = as_scores(a, "a"), as_scores(b, "b")
    if xa.size != xb.size:
        raise StatsInputError(
            f"a has {xa.size} scores and b has {xb.size}: a paired comparison needs the same samples, in the same order"
        )
    return xa, xb


def _mcnemar(xa: np.ndarray, xb: np.ndarray) -> McNemar:
    b01 = int(np.count_nonzero((xa == 0.0) & (xb == 1.0)))
    b10 = int(np.count_nonzero((xa == 1.0) & (xb == 0.0)))
    m = b01 + b10
    p = 1.0 if m == 0 else min(1.0, 2.0 * _binom_cdf_half(min(b01, b10), m))
    return McNemar(b01=b01, b10=b10, p_value=p)


def mcnemar_exact(a: Values, b: Values) -> McNemar:
    """McNemar's exact (binomial) test for paired 0/1 correctness of models A and B.

    b01 = #(a_i = 0 and b_i = 1), b10 = #(a_i = 1 and b_i = 0);
    p = min(1, 2 * BinomCDF(min(b01, b10); b01 + b10, 1/2)), and p = 1.0 when b01 + b10 = 0
    (as ``statsmodels`` ``mcnemar(exact=True)``). Raises StatsInputError (a ValueError) for
    unequal lengths or values other than 0/1 (booleans are accepted).
    """
    xa, xb = _matched(a, b)
    for name, x in (("a", xa), ("b", xb)):
        if not _is_binary(x):
            bad = int(np.count_nonzero((x != 0.0) & (x != 1.0)))
            raise StatsInputError(
                f"{name} holds {bad} scores other than 0/1: McNemar's test needs per-sample correctness"
            )
    return _mcnemar(xa, xb)


def paired_compare(
    a: Values, b: Values, *, n_resamples: int = 10_000, seed: int = 1234, confidence: float = 0.95
) -> PairedComparison:
    """Compare model B with model A on the same samples (the caller matches them, in order).

    With d_i = b_i - a_i and dbar = mean(d) = mean_b - mean_a:

    - stderr_diff = sqrt( sum_i (d_i - dbar)^2 / (n-1) ) / sqrt(n)  (paired, n-1);
    - B = ``n_resamples`` bootstrap resamples of the pairs (indices from Generator(PCG64(seed)),
      the same draws as ``bootstrap_ci(d, seed=seed)``), resample means m_b;
      [ci_low, ci_high] = the alpha/2 and 1 - alpha/2 quantiles of {m_b}, alpha = 1 - confidence;
    - p_value: the null distribution is the bootstrap of d shifted to mean 0, d_i - dbar, whose
      resample means are m_b - dbar; p = (#{b : |m_b - dbar| >= |dbar|} + 1) / (B + 1), two-sided.
      Comparisons use resample sums with a 1e-12 relative tolerance so ties count on any platform;
    - mcnemar = ``mcnemar_exact(a, b)`` when both inputs are all 0/1, else None.

    If d is constant, the CI is (dbar, dbar) and p is 1.0 when dbar = 0, else 1/(B+1).
    Raises StatsInputError (a ValueError) for unequal lengths, n < 2, NaN or empty input.
    """
    check_bootstrap_args(confidence, n_resamples)
    xa, xb = _matched(a, b)
    n = xa.size
    if n < 2:
        raise StatsInputError(f"a paired comparison needs at least 2 samples; got {n}")
    d = xb - xa
    mean_a, mean_b = float(xa.mean()), float(xb.mean())
    dbar, stderr_diff = mean_stderr(d)
    B = int(n_resamples)
    if bool(np.all(d == d[0])):
        ci_low = ci_high = float(d[0])
        p_value = 1.0 if d[0] == 0.0 else 1.0 / (B + 1)
    else:
        sums = bootstrap_sums(d, B, seed)
        ci_low, ci_high = percentile_interval(sums / n, confidence)
        observed = float(d.sum())
        tol = 1e-12 * float(np.abs(d).sum())
        extreme = int(np.count_nonzero(np.abs(sums - observed) >= abs(observed) - tol))
        p_value = (extreme + 1) / (B + 1)
    mcnemar = _mcnemar(xa, xb) if _is_binary(xa) and _is_binary(xb) else None
    return PairedComparison(
        n=n,
        mean_a=mean_a,
        mean_b=mean_b,
        diff=mean_b - mean_a,
        stderr_diff=stderr_diff,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        mcnemar=mcnemar,
        confidence=confidence,
        n_resamples=B,
        seed=seed,
    )
