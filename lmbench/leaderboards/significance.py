"""Is a candidate's number different from its base's? Paired tests on the questions both runs answered.

Questions are matched by (task hash, doc hash), as `lmbench compare` matches them, within the two runs that
produced the numbers shown (so a 5-shot cell is never paired with 0-shot answers). The test is McNemar's exact
test when the per-question scores are 0/1 (accuracy), else the paired bootstrap (`lmbench.metrics.paired`);
numbers that are not a mean of per-question scores (groups' macro averages, perplexities, diversity) are not
tested, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmbench.leaderboards.database import Cell, ResultsView
from lmbench.leaderboards.spec import Significance


@dataclass(frozen=True)
class Comparison:
    n: int  # matched questions
    diff: float  # candidate - base, stored units, on the matched questions
    ci_low: float
    ci_high: float
    p_value: float  # of `test`
    test: str  # "McNemar exact" | "paired bootstrap"
    p_bootstrap: float
    significant: bool


@dataclass(frozen=True)
class NotTested:
    reason: str


def compare_cells(view: ResultsView, task: str, metric: str, base: Cell, candidate: Cell,
                  settings: Significance) -> Comparison | NotTested:
    from lmbench.metrics.paired import paired_compare

    a, b = view.samples(base.run_id, task), view.samples(candidate.run_id, task)
    if a.empty or b.empty:
        return NotTested(f"a run stores no per-question scores of {task} (groups and suites have none)")
    matched = a.merge(b, on=["task_hash", "doc_hash"], suffixes=("_a", "_b"))
    xa = [m.get(metric) for m in matched["metrics_a"]]
    xb = [m.get(metric) for m in matched["metrics_b"]]
    if len(matched) < 2:
        return NotTested(f"the two runs share {len(matched)} questions of {task} (same prompt and document)")
    if any(x is None for x in xa + xb):
        return NotTested(f"{metric} is not a per-question score of {task}")
    result = paired_compare(xa, xb, n_resamples=settings.resamples, seed=settings.seed)
    test, p = ("McNemar exact", result.mcnemar.p_value) if result.mcnemar else ("paired bootstrap", result.p_value)
    return Comparison(n=result.n, diff=result.diff, ci_low=result.ci_low, ci_high=result.ci_high, p_value=p,
                      test=test, p_bootstrap=result.p_value, significant=p < settings.alpha)
