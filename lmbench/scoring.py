"""Engine outputs -> per-question records -> per-task and per-group aggregates."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lmbench.metrics.aggregate import Aggregate, macro, mean_stderr
from lmbench.metrics.stats import bootstrap_ci, clustered_stderr
from lmbench.metrics.choice import argmax, choice_scores
from lmbench.tasks.base import Doc
from lmbench.tasks.prepare import PreparedTask

METRICS = ("acc", "acc_norm")


def sample_records(item: PreparedTask, docs: list[Doc], prompts: list[str], outputs: list) -> list[dict[str, Any]]:
    """One record per question: prompt, choice log-probs, prediction, metrics (outputs in request order)."""
    rows, cursor = [], 0
    for doc, prompt in zip(docs, prompts):
        chunk = outputs[cursor : cursor + len(doc.choices)]
        cursor += len(doc.choices)
        logprobs = [r.logprob for r in chunk]
        rows.append({
            "task": item.task.name, "task_hash": item.task_hash, "doc_id": doc.doc_id, "doc_hash": doc.doc_hash,
            "prompt": prompt, "target": doc.choices[doc.gold], "prediction": doc.choices[argmax(logprobs)],
            "choices": list(doc.choices), "logprobs": logprobs,
            "metrics": choice_scores(logprobs, doc.choices, doc.gold), "flagged": any(r.flagged for r in chunk),
        })
    return rows


def aggregate(prepared: list[PreparedTask], samples: pd.DataFrame, groups: dict[str, tuple[str, ...]],
              seed: int = 1234) -> pd.DataFrame:
    """Per task: mean, stderr (n-1) and a percentile-bootstrap 95% CI (fixed seed). Per group asked for: micro
    (all questions; stderr clustered by task, CI = mean +- 1.96 clustered SE) and macro (unweighted mean of tasks)."""
    per_task: dict[str, dict[str, Aggregate]] = {}
    rows = []
    for item in prepared:
        metrics = samples.loc[samples["task"] == item.task.name, "metrics"]
        per_task[item.task.name] = {}
        for metric in METRICS:
            values = [s[metric] for s in metrics]
            agg = mean_stderr(values)
            per_task[item.task.name][metric] = agg
            low, high = bootstrap_ci(values, seed=seed) if values else (None, None)
            rows.append({"task": item.task.name, "task_hash": item.task_hash, "metric": metric, **_row(agg),
                         "ci_low": low, "ci_high": high})
    for group, members in groups.items():
        in_group = samples[samples["task"].isin(members)]
        for metric in METRICS:
            values = [s[metric] for s in in_group["metrics"]]
            micro = mean_stderr(values)
            se = clustered_stderr(values, list(in_group["task"])) if len(members) > 1 and values else micro.stderr
            rows.append({"task": group, "task_hash": None, "metric": metric, "value": micro.value, "stderr": se,
                         "ci_low": None if se is None else micro.value - 1.96 * se,
                         "ci_high": None if se is None else micro.value + 1.96 * se, "n": micro.n})
            rows.append({"task": group, "task_hash": None, "metric": f"{metric}_macro",
                         **_row(macro([per_task[t][metric] for t in members]))})
    return pd.DataFrame(rows)


def _row(a: Aggregate) -> dict[str, Any]:
    return {"value": a.value, "stderr": a.stderr, "ci_low": None, "ci_high": None, "n": a.n}
