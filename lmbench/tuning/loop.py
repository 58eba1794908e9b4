"""Tune-then-evaluate: the base and every saved checkpoint are evaluated on the same questions, then compared.

With `eval_tasks`, the base is evaluated before training, each checkpoint when the Trainer saves it
(every `eval_every` steps) and the final candidate at the end, all with the same task options (limit,
sample, seed, shots), so they answer the same questions and the runner's cache never crosses models.
Each checkpoint is registered (name `<run>-step<N>`, lineage edge to the base with its step) before
it is evaluated, so `lmbench results --model <run>-step<N>` and the lineage tables give the curve.
The end prints, per task, the paired comparison of the final candidate with its base (lmbench.compare).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.models.loader import ModelIdentity, inspect_checkpoint
from lmbench.tuning.lineage import register_candidate


@dataclass
class EvalPoint:
    step: int
    name: str
    fingerprint: str
    run_id: str
    results: pd.DataFrame
    wall_s: float


def comparison_metric(results: pd.DataFrame, task: str) -> str | None:
    """The per-sample metric the paired comparison uses for a task: acc, else nll, else reward."""
    metrics = set(results.loc[results["task"] == task, "metric"])
    return next((m for m in ("acc", "nll", "reward") if m in metrics), None)


def headline(curve: pd.DataFrame) -> pd.DataFrame:
    """The curve reduced to each task's comparison metric (acc, nll or reward)."""
    keep = [comparison_metric(curve, task) for task in curve["task"]]
    return curve[[m == k for m, k in zip(curve["metric"], keep, strict=True)]].reset_index(drop=True)


class TuneEvaluator:
    """Evaluates models through the library API with one set of task options (see the module docstring)."""

    def __init__(self, config: Any, db: str, base: ModelIdentity, run_name: str, relation: str,
                 detail: dict) -> None:
        self.config, self.db, self.base, self.run_name = config, db, base, run_name
        self.relation, self.detail = relation, detail
        self.points: list[EvalPoint] = []

    def _options(self) -> dict[str, Any]:
        c = self.config
        return dict(tasks=",".join(c.eval_tasks), shots=c.eval_shots, limit=c.eval_limit, sample=c.eval_sample,
                    seed=c.seed, data_dir=c.data_dir, db=self.db, batch_size=c.eval_batch_size, dtype=c.dtype,
                    device=self.base.device, progress=c.progress)

    def evaluate(self, checkpoint: str, step: int, name: str) -> EvalPoint:
        import time

        from lmbench.runner import EvalConfig, evaluate

        started = time.perf_counter()
        outcome = evaluate(EvalConfig(checkpoint=checkpoint, **self._options()))
        point = EvalPoint(step, name, outcome.fingerprint, outcome.run_id, outcome.results,
                          time.perf_counter() - started)
        self.points.append(point)
        return point

    def evaluate_base(self) -> EvalPoint:
        spec = str(self.base.source.path) if self.base.source.path else self.base.source.spec
        return self.evaluate(spec, 0, self.base.name)

    def evaluate_saved(self, path: Path, step: int, name: str, n_params: int | None) -> EvalPoint:
        """Register a saved checkpoint/candidate with its lineage, then evaluate it."""
        from lmbench.store import Store

        with Store(self.db) as store:
            register_candidate(store, inspect_checkpoint(str(path), device=self.base.device), name=name,
                               base=self.base, relation=self.relation, detail={**self.detail, "step": step},
                               n_params=n_params)
        return self.evaluate(str(path), step, name)

    def callback(self, n_params: int | None) -> Any:
        from transformers import TrainerCallback

        evaluator = self

        class EvaluateCheckpoints(TrainerCallback):
            def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if path.is_dir():
                    evaluator.evaluate_saved(path, state.global_step, f"{evaluator.run_name}-step{state.global_step}",
                                             n_params)

        return EvaluateCheckpoints()

    def curve(self) -> pd.DataFrame:
        """step, model, task, metric, value, stderr, n of every evaluation (base at step 0)."""
        frames = []
        for point in self.points:
            frame = point.results[["task", "metric", "value", "stderr", "n"]].copy()
            frame.insert(0, "model", point.name)
            frame.insert(0, "step", point.step)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def compare(self, base_fp: str, candidate_fp: str) -> pd.DataFrame:
        """Paired comparison (lmbench.compare) of candidate vs base for each evaluated task."""
        from lmbench.compare import compare_models
        from lmbench.store import Store

        if not self.points:
            return pd.DataFrame()
        results = self.points[0].results
        rows = []
        with Store(self.db, read_only=True) as store:
            for task in dict.fromkeys(results["task"]):
                metric = comparison_metric(results, task)
                if metric is None:
                    continue
                _, _, frame = compare_models(store, base_fp, candidate_fp, task=task, metric=metric)
                for row in frame.to_dict("records"):
                    rows.append({"task": row["task"], "metric": metric, "n": row["n"], "base": row[f"{metric}_a"],
                                 "candidate": row[f"{metric}_b"], "diff": row["diff_b_minus_a"],
                                 "ci_low": row["ci_low"], "ci_high": row["ci_high"], "p_bootstrap": row["p_bootstrap"],
                                 "p_mcnemar": row["p_mcnemar"]})
        return pd.DataFrame(rows)
