"""Uncertainty of a benchmark score: analytic, bootstrap and cluster-robust standard errors.

Pure functions over per-sample scores (numpy only; nothing heavy is imported here).
Paired comparisons of two models live in :mod:`lmbench.metrics.paired`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Union

import numpy as np

from lmbench.errors import LmbenchError

__all__ = ["StatsInputError", "mean_stderr", "bootstrap_ci", "clustered_stderr"]

Values = Union[Sequence[float], np.ndarray]

# Bootstrap indices are drawn this many at a time (rows x n), bounding memory to ~32 MB per chunk.
# The results do not depend on it: PCG64 yields the same index stream however the draws are split.
_CHUNK_ELEMENTS = 1 << 21


class StatsInputError(LmbenchError, ValueError):
    """Per-sample scores that no statistic can be computed from (empty, NaN, mismatched lengths)."""


def as_scores(values: Values, name: str = "values") -> np.ndarray:
    """Validate per-sample scores and return them as a 1-D float64 array.

    Raises StatsInputError (a ValueError) when ``values`` is empty, not one-dimensional,
    not numeric, or holds NaN or infinite entries (the message gives their count).
    """
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{name} must be numbers (per-sample scores); could not convert: {exc}") from None
    if x.ndim != 1:
        raise StatsInputError(f"{name} must be a flat sequence of per-sample scores; got shape {x.shape}")
    if x.size == 0:
        raise StatsInputError(f"{name} is empty: expected at least one per-sample score")
    n_nan = int(np.isnan(x).sum())
    if n_nan:
        raise StatsInputError(
            f"{name} holds {n_nan} NaN of {x.size} scores: drop or score those samples before computing statistics"
        )
    n_inf = int(np.isinf(x).sum())
    if n_inf:
        raise StatsInputError(f"{name} holds {n_inf} infinite of {x.size} scores: expected finite per-sample scores")
    return x


def _is_constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


def mean_stderr(values: Values) -> tuple[float, float]:
    """Mean and analytic standard error of the mean, ``(mean, stderr)``.

    mean = (1/n) sum_i x_i;  stderr = sqrt( sum_i (x_i - mean)^2 / (n - 1) ) / sqrt(n),
    i.e. the sample (n-1) standard deviation over sqrt(n) -- the same quantity as
    ``lmbench.metrics.aggregate.mean_stderr`` and ``scipy.stats.sem``. Constant values give
    stderr exactly 0.0; a single value gives stderr NaN (undefined with n-1; aggregate reports None).
    """
    x = as_scores(values)
    n = x.size
    if _is_constant(x):
        return float(x[0]), (0.0 if n > 1 else math.nan)
    mean = float(x.mean())
    return mean, float(x.std(ddof=1) / math.sqrt(n))


def check_bootstrap_args(confidence: float, n_resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise StatsInputError(f"confidence must be strictly between 0 and 1 (e.g. 0.95); got {confidence}")
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise StatsInputError(f"n_resamples must be a positive integer (e.g. 10000); got {n_resamples}")


def bootstrap_sums(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Sums of ``n_resamples`` bootstrap resamples of ``x`` (n indices drawn uniformly with replacement).

    The generator is ``numpy.random.Generator(PCG64(seed))``; resample r uses the r-th block of n
    draws of ``integers(0, n)``, so the output depends only on (x, n_resamples, seed), not on chunking.
    Sums (not means) are returned so that integer-valued scores stay exact.
    """
    n = x.size
    rng = np.random.Generator(np.random.PCG64(seed))
    rows = max(1, _CHUNK_ELEMENTS // n)
    out = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, rows):
        stop = min(start + rows, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = x[idx].sum(axis=1)
    return out


def percentile_interval(means: np.ndarray, confidence: float) -> tuple[float, float]:
    """(alpha/2, 1 - alpha/2) quantiles of ``means``, alpha = 1 - confidence (numpy 'linear' method)."""
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_ci(
    values: Values, *, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 1234
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean, ``(low, high)``.

    Draw B = ``n_resamples`` resamples of size n with replacement (indices from
    ``Generator(PCG64(seed))``), take each resample's mean m_b, and return the alpha/2 and
    1 - alpha/2 quantiles of {m_b} (alpha = 1 - confidence; numpy's default linear
    interpolation, as ``scipy.stats.bootstrap(method='percentile')``). Deterministic for a
    fixed seed. Constant values return (v, v) exactly.
    """
    check_bootstrap_args(confidence, n_resamples)
    x = as_scores(values)
    if _is_constant(x):
        return float(x[0]), float(x[0])
    means = bootstrap_sums(x, int(n_resamples), seed) / x.size
    return percentile_interval(means, confidence)


def clustered_stderr(values: Values, clusters: Sequence[Hashable] | np.ndarray) -> float:
    """Cluster-robust (CR1) standard error of the mean of ``values`` grouped by ``clusters``.

    With n samples in G clusters, mean = (1/n) sum_i x_i and residuals e_i = x_i - mean::

        SE = sqrt( G/(G-1) * sum_g ( sum_{i in g} e_i )^2 ) / n

    This is the sandwich estimator of an intercept-only regression with the G/(G-1)
    small-sample factor (Stata's and statsmodels' ``cov_type='cluster'`` for K=1 regressor,
    whose extra (N-1)/(N-K) factor is then 1). Miller (2024), "Adding Error Bars to Evals: A
    Statistical Approach to Language Model Evaluations" (arXiv:2411.00640), recommends this
    clustered standard error for questions that share a passage/subject; his expression is the
    same within-cluster sum of residual products, written without the G/(G-1) factor.
    When every sample is its own cluster, SE = sqrt(n/(n-1)) * population_sd / sqrt(n), the
    usual n-1 standard error. Cluster labels are matched by hash and equality; at least two
    clusters are required. Constant values give 0.0.
    """
    x = as_scores(values)
    n = x.size
    if len(clusters) != n:
        raise StatsInputError(f"clusters has {len(clusters)} labels for {n} values: expected one label per sample")
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(c, len(index)) for c in clusters), dtype=np.intp, count=n)
    g = len(index)
    if g < 2:
        raise StatsInputError(
            f"clustered_stderr needs at least 2 clusters; got {g}: with one cluster the variance is not identified"
        )
    if _is_constant(x):
        return 0.0
    e = x - x.mean()
    cluster_sums = np.bincount(codes, weights=e, minlength=g)
    return float(math.sqrt(g / (g - 1) * float(np.dot(cluster_sums, cluster_sums))) / n)
