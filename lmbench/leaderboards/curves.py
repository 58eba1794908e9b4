"""Training curves: the per-iteration rewards logged by the training runs that made the report's models.

A training run made a model when its `candidate_fingerprint` is the model, or when a lineage edge into the
model names the run in its detail (`training_run_id`: RAFT's iter-N checkpoints, the RLOO candidate); each row
shows one run (`training_curves`). Only
runs whose `train_log` holds one of REWARDS are shown: RAFT logs the mean reward of all samples, of the kept
ones and of greedy answers to held-out prompts per iteration (step = iteration, 0 = before training); TRL's
online trainers (the `rloo` recipe) log the mean reward of each generation round's completions. SFT, DPO and
reward-model runs log losses, not the rewards of samples, and have no curve. Values stay as logged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lmbench.store import Store

# train_log metric -> label: plotted (rewards), then shown in the per-iteration table only (counts, losses).
REWARDS = {"reward_mean_all": "all samples", "reward_mean_kept": "kept samples",
           "heldout_reward": "held-out (greedy)", "reward": "sampled completions"}
EXTRAS = {"reward_std": "reward std", "n_generated": "sampled", "n_kept": "kept", "n_discarded": "discarded",
          "train_loss": "train loss"}
COUNTS = ("n_generated", "n_kept", "n_discarded")
INTRO = ("Per-iteration rewards logged by the training runs that made these rows (train_log, step = iteration), as "
         "logged, on the reward model's own scale. RAFT: the mean reward of all samples and of the kept ones, drawn "
         "from the policy before that iteration's fine-tuning, and of greedy answers to held-out prompts after it "
         "(iteration 0: the starting model). RLOO: the mean reward of each generation round's completions.")


@dataclass(frozen=True)
class Series:
    metric: str  # the train_log metric name
    label: str
    values: tuple[float | None, ...]  # one per step of the curve (None: not logged at that step)
    plotted: bool


@dataclass(frozen=True)
class TrainingCurve:
    run_id: str
    recipe: str
    status: str
    command: str
    models: tuple[str, ...]  # labels of the report's rows this run made
    steps: tuple[int, ...]
    series: tuple[Series, ...]  # REWARDS first, then EXTRAS, in their order

    def plotted(self) -> dict[str, list[float | None]]:
        return {s.label: list(s.values) for s in self.series if s.plotted}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _made(store: Store, runs: pd.DataFrame) -> dict[str, set[str]]:
    """training run id -> fingerprints of the models it made."""
    made: dict[str, set[str]] = {}
    for run_id, candidate in runs[["training_run_id", "candidate_fingerprint"]].itertuples(index=False):
        if isinstance(candidate, str) and candidate:
            made.setdefault(run_id, set()).add(candidate)
    for child, detail in store.edges()[["child", "detail"]].itertuples(index=False):
        run_id = detail.get("training_run_id") if isinstance(detail, dict) else None
        if isinstance(run_id, str) and run_id:
            made.setdefault(run_id, set()).add(child)
    return made


def training_curves(store: Store, shown: list[tuple[str, str]]) -> list[TrainingCurve]:
    """`shown`: (row label, fingerprint) of every model in the report, in report order -> the curves of the
    runs that made them, in the order of the first row each run made. One run per row: the latest of those
    whose final candidate the row is, else the latest that made it as an iteration. (A deterministic recipe
    rerun, say with other selection prompts, makes the same model again; the latest run is the one to read.)"""
    frame = store.training_runs()
    made = _made(store, frame)
    runs = {r["training_run_id"]: r for r in frame.to_dict("records")}
    known = [r for r in made if r in runs]
    order: dict[str, list[str]] = {}
    for label, fingerprint in shown:
        makers = [r for r in known if fingerprint in made[r]]
        finals = [r for r in makers if runs[r]["candidate_fingerprint"] == fingerprint]
        if makers:
            run_id = max(finals or makers, key=lambda r: (runs[r]["started_at"], r))
            if label not in order.get(run_id, []):
                order.setdefault(run_id, []).append(label)
    curves = []
    for run_id, labels in order.items():
        curve = _curve(store, runs[run_id], tuple(labels))
        if curve is not None:
            curves.append(curve)
    return curves


def _curve(store: Store, run: dict[str, Any], labels: tuple[str, ...]) -> TrainingCurve | None:
    log = store.train_log(run["training_run_id"])
    wanted = [m for m in (*REWARDS, *EXTRAS) if m in log.columns]
    values = {m: [_number(v) for v in log[m]] for m in wanted}
    keep = [i for i in range(len(log)) if any(values[m][i] is not None for m in wanted if m in REWARDS)]
    if not keep:
        return None
    series = tuple(Series(metric=m, label=REWARDS.get(m) or EXTRAS[m], values=tuple(values[m][i] for i in keep),
                          plotted=m in REWARDS)
                   for m in wanted if any(values[m][i] is not None for i in keep))
    return TrainingCurve(run_id=str(run["training_run_id"]), recipe=str(run["recipe"]), status=str(run["status"]),
                         command=str(run["command"] or ""), models=labels,
                         steps=tuple(int(log["step"].iloc[i]) for i in keep), series=series)


def number(series: Series, value: float | None) -> str:
    """A logged value as shown in the per-iteration tables: counts whole, the rest to 4 decimals."""
    if value is None:
        return "-"
    return f"{value:.0f}" if series.metric in COUNTS else f"{value:.4f}"


def title(curve: TrainingCurve) -> str:
    return f"{curve.recipe.upper()} reward per iteration: {', '.join(curve.models)}"


def figure(curve: TrainingCurve):  # -> matplotlib.figure.Figure
    import matplotlib

    from lmbench.leaderboards.plots import _RC, curve_figure

    with matplotlib.rc_context(_RC):
        return curve_figure(list(curve.steps), curve.plotted(), title=title(curve),
                            xlabel="iteration" + (" (0 = before training)" if 0 in curve.steps else ""),
                            ylabel="mean reward (as logged)")
