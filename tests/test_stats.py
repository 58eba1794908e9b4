"""lmbench.metrics.stats and lmbench.metrics.paired: hand-computed values and scipy/statsmodels references."""

from __future__ import annotations

import math
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest

from lmbench.errors import LmbenchError
from lmbench.metrics import aggregate, paired, stats
from lmbench.metrics.paired import McNemar, mcnemar_exact, paired_compare
from lmbench.metrics.stats import StatsInputError, bootstrap_ci, clustered_stderr, mean_stderr


@pytest.fixture
def scipy_stats() -> ModuleType:
    """scipy.stats, the reference implementation; only reference checks skip without it."""
    return pytest.importorskip("scipy.stats")


def _pairs(n11: int, n00: int, n01: int, n10: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 scores of models A and B: n11 both right, n00 both wrong, n01 A wrong/B right, n10 A right/B wrong."""
    a = np.array([1] * n11 + [0] * n00 + [0] * n01 + [1] * n10, dtype=float)
    b = np.array([1] * n11 + [0] * n00 + [1] * n01 + [0] * n10, dtype=float)
    order = np.random.Generator(np.random.PCG64(0)).permutation(a.size)  # order must not matter to the tests
    return a[order], b[order]


# ---------------------------------------------------------------- hand-computed values


def test_mean_stderr_by_hand() -> None:
    # [1, 2, 3, 4]: mean 2.5; residuals -1.5 -0.5 0.5 1.5; sum of squares 5; s^2 = 5/3;
    # stderr = sqrt(5/3 / 4) = sqrt(5/12) = 0.6454972243679028
    mean, se = mean_stderr([1, 2, 3, 4])
    assert mean == 2.5
    assert se == pytest.approx(math.sqrt(5 / 12), rel=1e-15)


def test_clustered_stderr_by_hand() -> None:
    # values [1,0 | 1,1 | 0,0] in clusters a, b, c: mean 0.5; residuals +.5 -.5 | +.5 +.5 | -.5 -.5;
    # cluster sums 0, 1, -1; sum of squares 2; G = 3: SE = sqrt(3/2 * 2) / 6 = sqrt(3)/6 = 0.28867513459481287
    se = clustered_stderr([1, 0, 1, 1, 0, 0], ["a", "a", "b", "b", "c", "c"])
    assert se == pytest.approx(math.sqrt(3) / 6, rel=1e-14)


def test_bootstrap_ci_by_hand() -> None:
    # [0, 1]: a resample mean is 0, 0.5, 1 with probability 1/4, 1/2, 1/4. The 2.5% and 97.5% quantiles
    # fall inside the masses at 0 and 1 (B = 10000, so ~2500 resamples each): CI (0, 1).
    assert bootstrap_ci([0, 1]) == (0.0, 1.0)
    # confidence 0.4: the 30% and 70% quantiles both fall in the mass at 0.5 (cumulative 0.25 -> 0.75).
    assert bootstrap_ci([0, 1], confidence=0.4) == (0.5, 0.5)


def test_mcnemar_by_hand() -> None:
    # b01 = 3, b10 = 0: 2 * P(X <= 0 | 3, 1/2) = 2/8 = 0.25
    assert mcnemar_exact([0, 0, 0, 1], [1, 1, 1, 1]) == McNemar(b01=3, b10=0, p_value=0.25)
    # b01 = 5, b10 = 1: 2 * (C(6,0) + C(6,1)) / 64 = 14/64 = 0.21875
    a, b = _pairs(n11=2, n00=1, n01=5, n10=1)
    assert mcnemar_exact(a, b) == McNemar(b01=5, b10=1, p_value=0.21875)
    # b01 = b10 = 2: 2 * P(X <= 2 | 4) = 2 * 11/16 > 1 -> 1.0; no discordant pair -> 1.0
    assert mcnemar_exact([0, 0, 1, 1], [1, 1, 0, 0]).p_value == 1.0
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == McNemar(b01=0, b10=0, p_value=1.0)


def test_paired_pvalue_by_hand() -> None:
    # d = b - a = [0, 1], dbar = 0.5, observed sum 1. Resample sums 0, 1, 2 with probability 1/4, 1/2, 1/4;
    # centred |S_b - 1| >= 1 exactly when S_b is 0 or 2 (ties count): p -> 1/2 (MC sd 0.005 at B = 10000).
    r = paired_compare([0, 0], [0, 1])
    assert r.diff == 0.5 and r.n == 2
    assert r.p_value == pytest.approx(0.5, abs=0.03)
    assert (r.ci_low, r.ci_high) == (0.0, 1.0)
    # stderr of d = [0, 1]: s = sqrt(0.5), / sqrt(2) = 0.5
    assert r.stderr_diff == pytest.approx(0.5, rel=1e-15)
    assert r.mcnemar == McNemar(b01=1, b10=0, p_value=1.0)


# ---------------------------------------------------------------- references


def test_mean_stderr_matches_scipy_and_aggregate(scipy_stats: ModuleType) -> None:
    x = np.random.Generator(np.random.PCG64(7)).normal(0.3, 2.0, size=257)
    mean, se = mean_stderr(x)
    assert mean == pytest.approx(float(np.mean(x)), rel=1e-14)
    assert se == pytest.approx(float(scipy_stats.sem(x)), rel=1e-12)
    agg = aggregate.mean_stderr(list(x))
    assert (mean, se) == pytest.approx((agg.value, agg.stderr), rel=1e-12)


def test_bootstrap_ci_matches_scipy(scipy_stats: ModuleType) -> None:
    x = np.random.Generator(np.random.PCG64(3)).binomial(1, 0.62, size=300).astype(float)
    low, high = bootstrap_ci(x)
    ref = scipy_stats.bootstrap((x,), np.mean, method="percentile", n_resamples=10_000, rng=np.random.default_rng(5))
    _, se = mean_stderr(x)
    # Monte Carlo sd of each endpoint is ~0.03 se per estimate; allow 0.2 se (~5 sd of the difference).
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.2 * se)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.2 * se)
    assert low < x.mean() < high


def test_paired_ci_matches_scipy_paired_bootstrap(scipy_stats: ModuleType) -> None:
    rng = np.random.Generator(np.random.PCG64(11))
    a = rng.normal(0.0, 1.0, size=150)
    b = a + rng.normal(0.2, 0.5, size=150)
    r = paired_compare(a, b)
    ref = scipy_stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.mean(y - x, axis=axis),
        paired=True,
        method="percentile",
        rng=np.random.default_rng(1),
    )
    assert r.ci_low == pytest.approx(ref.confidence_interval.low, abs=0.2 * r.stderr_diff)
    assert r.ci_high == pytest.approx(ref.confidence_interval.high, abs=0.2 * r.stderr_diff)
    assert r.stderr_diff == pytest.approx(float(scipy_stats.sem(b - a)), rel=1e-12)
    assert r.mcnemar is None  # not 0/1 data


@pytest.mark.parametrize(("b01", "b10"), [(0, 1), (7, 2), (30, 10), (22, 18), (500, 500), (560, 441), (460, 541)])
def test_mcnemar_matches_scipy_binomtest(scipy_stats: ModuleType, b01: int, b10: int) -> None:
    # 500+500 and 560+441 / 460+541 straddle the exact-integer / scipy switch (1000 discordant pairs).
    a, b = _pairs(n11=5, n00=4, n01=b01, n10=b10)
    r = mcnemar_exact(a, b)
    ref = scipy_stats.binomtest(b01, b01 + b10, 0.5, alternative="two-sided").pvalue
    assert (r.b01, r.b10) == (b01, b10)
    assert r.p_value == pytest.approx(ref, rel=1e-12)


def test_binomial_paths_agree(scipy_stats: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # the large-n path is scipy.stats.binom.cdf
    cases = [(0, 1), (3, 20), (180, 400), (499, 1000)]
    exact = [paired._binom_cdf_half(k, n) for k, n in cases]
    monkeypatch.setattr(paired, "_EXACT_BINOM_MAX", 0)
    assert [paired._binom_cdf_half(k, n) for k, n in cases] == pytest.approx(exact, rel=1e-12)


def test_mcnemar_matches_statsmodels() -> None:
    sm_tables = pytest.importorskip("statsmodels.stats.contingency_tables")
    for n01, n10 in [(30, 10), (22, 18), (3, 0), (0, 0), (12, 13)]:
        a, b = _pairs(n11=40, n00=25, n01=n01, n10=n10)
        table = [[40, n10], [n01, 25]]  # rows: A right / A wrong; columns: B right / B wrong
        ref = sm_tables.mcnemar(table, exact=True).pvalue
        assert mcnemar_exact(a, b).p_value == pytest.approx(ref, rel=1e-12)


def _clustered_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(21))
    sizes = rng.integers(1, 30, size=17)  # unequal cluster sizes, like MMLU subjects
    labels = np.repeat(np.arange(17), sizes)
    effect = rng.normal(0, 0.3, size=17)[labels]
    x = (rng.random(labels.size) < 0.5 + effect.clip(-0.45, 0.45)).astype(float)
    return x, labels


def test_clustered_stderr_matches_direct_numpy() -> None:
    x, labels = _clustered_data()
    n, g = x.size, 17
    onehot = (labels[:, None] == np.arange(g)[None, :]).astype(float)  # n x G membership matrix
    u = (x - x.mean()) @ onehot  # per-cluster residual sums
    direct = math.sqrt(g / (g - 1) * float(u @ u)) / n
    assert clustered_stderr(x, labels) == pytest.approx(direct, rel=1e-12)
    assert clustered_stderr(x, [f"subject_{i}" for i in labels]) == pytest.approx(direct, rel=1e-12)


def test_clustered_stderr_matches_statsmodels_ols() -> None:
    sm = pytest.importorskip("statsmodels.api")
    x, labels = _clustered_data()
    # statsmodels' cluster correction is G/(G-1) * (N-1)/(N-K); intercept-only K = 1 makes (N-1)/(N-K) = 1,
    # so its cluster-robust bse of the intercept is exactly our CR1 formula.
    fit = sm.OLS(x, np.ones((x.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": labels})
    assert clustered_stderr(x, labels) == pytest.approx(float(fit.bse[0]), rel=1e-10)


def test_clustered_stderr_singletons_is_n_minus_1_stderr(scipy_stats: ModuleType) -> None:
    x = np.random.Generator(np.random.PCG64(2)).normal(size=41)
    n = x.size
    expected = math.sqrt(n / (n - 1)) * float(np.std(x)) / math.sqrt(n)
    se = clustered_stderr(x, list(range(n)))
    assert se == pytest.approx(expected, rel=1e-12)
    assert se == pytest.approx(mean_stderr(x)[1], rel=1e-12)
    assert se == pytest.approx(float(scipy_stats.sem(x)), rel=1e-12)


def test_clustered_stderr_ignores_duplicated_samples() -> None:
    # Copying every sample k times inside its own cluster multiplies cluster sums by k and n by k: SE unchanged,
    # while the naive stderr shrinks by about sqrt(k).
    x = np.random.Generator(np.random.PCG64(4)).normal(size=30)
    k = 5
    dup = np.repeat(x, k)
    assert clustered_stderr(dup, np.repeat(np.arange(30), k)) == pytest.approx(mean_stderr(x)[1], rel=1e-12)
    assert mean_stderr(dup)[1] < 0.5 * mean_stderr(x)[1]


# ---------------------------------------------------------------- constructed comparisons


def test_b_beats_a_on_30_of_40_discordant_pairs(scipy_stats: ModuleType) -> None:
    a, b = _pairs(n11=100, n00=60, n01=30, n10=10)  # n = 200, diff = (30 - 10) / 200 = 0.1
    r = paired_compare(a, b)
    assert r.n == 200 and r.diff == pytest.approx(0.1, abs=1e-15)
    assert (r.mean_a, r.mean_b) == pytest.approx((0.55, 0.65))
    assert r.mcnemar is not None and (r.mcnemar.b01, r.mcnemar.b10) == (30, 10)
    # exact: 2 * P(X <= 10 | 40, 1/2) = 0.00222...
    assert r.mcnemar.p_value == pytest.approx(scipy_stats.binomtest(10, 40).pvalue, rel=1e-12)
    assert r.mcnemar.p_value < 0.05 and r.p_value < 0.05
    assert r.diff > 0 and r.ci_low > 0  # both agree B is better
    assert r.ci_low < r.diff < r.ci_high


def test_22_of_40_discordant_is_not_significant() -> None:
    a, b = _pairs(n11=100, n00=60, n01=22, n10=18)
    r = paired_compare(a, b)
    assert r.diff == pytest.approx(0.02, abs=1e-15)
    assert r.mcnemar is not None and r.mcnemar.p_value > 0.05 and r.p_value > 0.05
    assert r.ci_low < 0 < r.ci_high


def test_paired_ci_is_bootstrap_ci_of_differences() -> None:
    a, b = _pairs(n11=50, n00=30, n01=15, n10=9)
    r = paired_compare(a, b, seed=99, confidence=0.9, n_resamples=2000)
    assert (r.ci_low, r.ci_high) == bootstrap_ci(b - a, seed=99, confidence=0.9, n_resamples=2000)
    assert (r.confidence, r.n_resamples, r.seed) == (0.9, 2000, 99)


# ---------------------------------------------------------------- determinism


def test_same_seed_same_ci_and_chunking_does_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.Generator(np.random.PCG64(8)).normal(size=53)
    first = bootstrap_ci(x, n_resamples=500, seed=42)
    assert bootstrap_ci(x, n_resamples=500, seed=42) == first
    assert bootstrap_ci(x, n_resamples=500, seed=43) != first
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", 7 * 53)  # 7 resamples per chunk, last one partial
    assert bootstrap_ci(x, n_resamples=500, seed=42) == first
    a, b = _pairs(n11=20, n00=10, n01=9, n10=4)
    assert paired_compare(a, b, seed=5, n_resamples=300) == paired_compare(a, b, seed=5, n_resamples=300)


# ---------------------------------------------------------------- edge cases and errors


def test_constant_values() -> None:
    assert mean_stderr([0.1, 0.1, 0.1]) == (0.1, 0.0)
    assert bootstrap_ci([0.1] * 5) == (0.1, 0.1)
    assert clustered_stderr([0.7] * 4, [0, 0, 1, 1]) == 0.0
    same = paired_compare([1, 0, 1], [1, 0, 1])
    assert (same.diff, same.stderr_diff, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 0.0, 1.0)
    shifted = paired_compare([0.25, 0.5, 0.75], [0.5, 0.75, 1.0], n_resamples=99)  # d = 0.25 exactly
    assert (shifted.ci_low, shifted.ci_high, shifted.stderr_diff) == (0.25, 0.25, 0.0)
    assert shifted.p_value == 1 / 100  # no centred resample reaches |0.25|: the smallest p, 1/(B+1)
    mean, se = mean_stderr([3.0])
    assert mean == 3.0 and math.isnan(se)


@pytest.mark.parametrize(
    "call",
    [
        lambda: mean_stderr([]),
        lambda: bootstrap_ci([]),
        lambda: clustered_stderr([], []),
        lambda: paired_compare([], []),
        lambda: mcnemar_exact([], []),
    ],
)
def test_empty_input_raises(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="empty"):
        call()


def test_nan_raises_with_count() -> None:
    with pytest.raises(ValueError, match="2 NaN of 4"):
        mean_stderr([1.0, float("nan"), 0.0, float("nan")])
    with pytest.raises(ValueError, match="1 NaN of 3"):
        bootstrap_ci([1.0, float("nan"), 0.0])
    with pytest.raises(ValueError, match="b holds 1 NaN"):
        paired_compare([1, 0], [1, float("nan")])
    with pytest.raises(ValueError, match="1 infinite"):
        clustered_stderr([1.0, math.inf], [0, 1])


def test_input_errors_are_value_and_lmbench_errors() -> None:
    with pytest.raises(StatsInputError, match="a has 3 scores and b has 2") as info:
        paired_compare([1, 0, 1], [1, 0])
    assert isinstance(info.value, ValueError) and isinstance(info.value, LmbenchError)
    with pytest.raises(ValueError, match="at least 2 samples"):
        paired_compare([1], [0])
    with pytest.raises(ValueError, match="a has 2 scores and b has 3"):
        mcnemar_exact([1, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="1 scores other than 0/1"):
        mcnemar_exact([1, 0.5], [1, 0])
    with pytest.raises(ValueError, match="at least 2 clusters"):
        clustered_stderr([1, 0, 1], ["x", "x", "x"])
    with pytest.raises(ValueError, match="3 labels for 2 values"):
        clustered_stderr([1, 0], [0, 1, 2])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1, 0], confidence=95)
    with pytest.raises(ValueError, match="n_resamples"):
        paired_compare([1, 0], [0, 1], n_resamples=0)


def test_booleans_accepted() -> None:
    r = paired_compare([True, False, False, True], [True, True, True, False], n_resamples=200)
    assert r.mcnemar == McNemar(b01=2, b10=1, p_value=1.0)


def test_import_is_light() -> None:
    code = (
        "import sys, lmbench.metrics.stats, lmbench.metrics.paired; "
        "print(sorted({'scipy', 'torch'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
