"""Tune-then-evaluate: the base and every saved checkpoint are evaluated on the same questions, then compared.

With `eval_tasks`, one `lmbench.Plan` prepares the tasks once (same limit, sample, seed, shots: the same
questions for every model); the base is evaluated before training, each checkpoint when the Trainer
saves it (every `eval_every` steps) and the final candidate at the end. Full, LOMO and QLoRA models are
evaluated as they are in memory (a content fingerprint: the same as their saved folder's, and for QLoRA
the 4-bit model it really is); a LoRA checkpoint is evaluated from its adapter folder, so its fingerprint
is the one `lmbench eval ADAPTER` gives (adapter files + base). Each evaluated model is named
`<run>-step<N>` and gets a lineage edge to the base with its step, so `lmbench results --model
<run>-step<N>` and the lineage tables give the curve. The end prints, per task, the paired comparison of
the final candidate with its base (lmbench.compare).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.models.loader import ModelIdentity


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
    """Evaluates models through one `lmbench.Plan` (see the module docstring)."""

    def __init__(self, config: Any, db: str, base: ModelIdentity, run_name: str, relation: str,
                 detail: dict) -> None:
        from lmbench.plan import Plan

        c = config
        self.config, self.db, self.base, self.run_name = config, db, base, run_name
        self.relation, self.detail = relation, detail
        self.in_memory = c.method != "lora"
        self.plan = Plan(",".join(c.eval_tasks), shots=c.eval_shots, limit=c.eval_limit, sample=c.eval_sample,
                         seed=c.seed, data_dir=c.data_dir, db=db, batch_size=c.eval_batch_size, dtype=c.dtype,
                         device=base.device, progress=c.progress)
        self.points: list[EvalPoint] = []

    def _run(self, model: Any, step: int, name: str, tokenizer: Any = None) -> EvalPoint:
        started = time.perf_counter()
        outcome = self.plan.run(model, tokenizer=tokenizer, name=name)
        point = EvalPoint(step, name, outcome.fingerprint, outcome.run_id, outcome.results,
                          time.perf_counter() - started)
        self.points.append(point)
        return point

    def evaluate_base(self) -> EvalPoint:
        spec = str(self.base.source.path) if self.base.source.path else self.base.source.spec
        return self._run(spec, 0, self.base.name)

    def evaluate_candidate(self, model: Any, path: Path, step: int, name: str) -> EvalPoint:
        """Evaluate a checkpoint (in memory, or its adapter folder for LoRA) and add its lineage edge."""
        from lmbench.store import Store

        if self.in_memory:
            point = _in_eval_mode(model, lambda: self._run(model, step, name, tokenizer=self.base.tokenizer))
        else:
            point = self._run(str(path), step, name)
        with Store(self.db) as store:
            store.add_lineage(point.fingerprint, self.base.fingerprint, self.relation, {**self.detail, "step": step})
        return point

    def callback(self) -> Any:
        from transformers import TrainerCallback

        evaluator = self

        class EvaluateCheckpoints(TrainerCallback):
            def on_save(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
                step = state.global_step
                evaluator.evaluate_candidate(model, Path(args.output_dir) / f"checkpoint-{step}", step,
                                             f"{evaluator.run_name}-step{step}")

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


def _in_eval_mode(model: Any, fn: Any) -> Any:
    """Run `fn` with the training model in eval mode and its KV cache on, then restore both."""
    training, cache = model.training, getattr(model.config, "use_cache", None)
    model.eval()
    if cache is not None:
        model.config.use_cache = True
    try:
        return fn()
    finally:
        if cache is not None:
            model.config.use_cache = cache
        model.train(training)
