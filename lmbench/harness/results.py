"""Harness documents -> lmbench sample records, and the harness's own aggregation of them.

Per document the harness's filters and `process_results` give the per-sample metrics (stored as
`metric` for the "none" filter, `metric,filter` otherwise); per task and group the harness's
aggregation functions, stderr and group weighting give the reported numbers, from the stored
per-sample metrics, so answers reused from the cache aggregate exactly like fresh ones.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections import defaultdict
from typing import Any

import pandas as pd

from lmbench.harness.task import PREFIX
from lmbench.metrics.stats import bootstrap_ci

# Only metrics without a closed-form stderr (perplexities, f1, bleu, ...) bootstrap; the harness's default of
# 100k resamples in a process pool costs minutes on every aggregation, cached runs included.
BOOTSTRAP_ITERS = 1_000


def instance_requests(item: Any, doc: Any) -> list[Any]:
    """The engine requests of one harness document: each Instance `repeats` times (each copy samples anew)."""
    from lmbench.engine.requests import GenerateRequest, LoglikelihoodRequest, RollingRequest
    from lmbench.harness.params import generation_params

    warned = item.state.extra.setdefault("warned", set())
    build = {  # harness request type -> lmbench request
        "loglikelihood": lambda args, repeat: LoglikelihoodRequest(*args[:2]),
        "loglikelihood_rolling": lambda args, repeat: RollingRequest(args[0]),
        "generate_until": lambda args, repeat: GenerateRequest(args[0], generation_params(
            args[0], dict(args[1]), seed=item.options.seed, repeat=repeat, warned=warned)),
    }
    requests = []
    for instance in item.state.instances[doc.doc_id]:
        if instance.request_type not in build:
            raise TypeError(f"harness request type {instance.request_type!r} is not served by lmbench's engine")
        requests += [build[instance.request_type](instance.args, k) for k in range(instance.repeats or 1)]
    return requests


def _answer(output: Any) -> tuple[Any, bool]:
    """An engine output as the harness's response to its Instance, and whether lmbench flagged it."""
    if hasattr(output, "is_greedy"):  # LoglikelihoodResult
        return (output.logprob, output.is_greedy), output.flagged
    if hasattr(output, "truncated"):  # Generated
        return output.text, output.truncated
    return float(output), False  # rolling log-likelihood


def harness_records(item: Any, docs: list, outputs: list[list[Any]]) -> list[dict[str, Any]]:
    """Each document's engine outputs (in `instance_requests` order) -> Instance responses -> the harness's
    filters and per-sample metrics -> one sample record per document."""
    state = item.state
    instances = []
    for doc, answers in zip(docs, outputs, strict=True):
        cursor = iter(answers)
        for instance in state.instances[doc.doc_id]:
            instance.resps, instance.filtered_resps, instance.lmbench_flagged = [], {}, False
            for _ in range(instance.repeats or 1):
                response, flag = _answer(next(cursor))
                instance.resps.append(response)
                instance.lmbench_flagged = instance.lmbench_flagged or flag
            instances.append(instance)
    for ensemble in getattr(state.task, "_filters", []):
        ensemble.apply(instances)
    return [_record(item, doc, state.instances[doc.doc_id]) for doc in docs]


def _record(item: Any, doc: Any, requests: list[Any]) -> dict[str, Any]:
    task = item.state.task
    source = requests[0].doc if requests else {}
    metrics: dict[str, Any] = {}
    for key in (requests[0].filtered_resps if requests else {}):
        scored = task.process_results(source, [r.filtered_resps[key] for r in requests])
        metrics.update({(m if key == "none" else f"{m},{key}"): _plain(v) for m, v in scored.items()})
    kind = requests[0].request_type if requests else ""
    choices, logprobs, prediction = [], [], None
    if kind == "loglikelihood":
        choices = [str(r.args[1]) for r in requests]
        logprobs = [float(r.resps[0][0]) for r in requests]
        prediction = choices[max(range(len(logprobs)), key=logprobs.__getitem__)] if logprobs else None
    elif kind == "loglikelihood_rolling":
        logprobs = [float(r.resps[0]) for r in requests]
    elif kind == "generate_until":
        first = next(iter(requests[0].filtered_resps.values()))
        prediction = str(first[0] if isinstance(first, list) and first else first)
    return {"task": item.task.name, "task_hash": item.task_hash, "doc_id": doc.doc_id, "doc_hash": doc.doc_hash,
            "prompt": str(requests[0].args[0]) if requests else None,
            "target": _target(task, source), "prediction": prediction, "choices": choices, "logprobs": logprobs,
            "metrics": metrics, "flagged": any(getattr(r, "lmbench_flagged", False) for r in requests)}


def _target(task: Any, doc: dict) -> str:
    target = task.doc_to_target(doc)
    if task.OUTPUT_TYPE == "multiple_choice" and isinstance(target, int):
        options = task.doc_to_choice(doc)
        if 0 <= target < len(options):
            return str(options[target])
    return str(target)


def _plain(value: Any) -> Any:
    """JSON-safe copy of a per-sample metric (numpy scalars -> Python, tuples -> lists)."""
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _split(key: str) -> tuple[str, str]:
    metric, _, filter_key = key.partition(",")
    return metric, filter_key or "none"


def harness_result_rows(items: list[Any], samples: pd.DataFrame, seed: int = 1234) -> list[dict[str, Any]]:
    """Per task and per harness group: the harness's aggregate, stderr and sample count, with a CI."""
    from lm_eval.evaluator_utils import _process_results

    rows = []
    units: dict[int, list[Any]] = defaultdict(list)
    for item in items:
        units[id(item.state.unit)].append(item)
    for unit_items in units.values():
        unit = unit_items[0].state.unit
        accumulated, per_sample = {}, {}
        for item in unit_items:
            raw: dict[tuple[str, str], list[Any]] = defaultdict(list)
            for metrics in samples.loc[samples["task"] == item.task.name, "metrics"]:
                for key, value in metrics.items():
                    raw[_split(key)].append(value)
            accumulated[item.state.task.task_name] = {"task": item.state.task, "raw_metrics": raw, "logged_samples": []}
            per_sample[item.state.task.task_name] = (item.task_hash, raw)
        with contextlib.redirect_stdout(sys.stderr):  # the harness prints its bootstrap progress to stdout
            out = _process_results(accumulated, unit.groups, BOOTSTRAP_ITERS)._to_eval_results()
        counts = out.get("n-samples", {})
        for name, entry in {**out.get("results", {}), **out.get("groups", {})}.items():
            task_hash, raw = per_sample.get(name, (None, {}))
            members = [name] if name in counts else [t.task_name for t in unit.groups[name].get_all_tasks()]
            for key, value in entry.items():
                if "," not in key or "_stderr," in key or not isinstance(value, (int, float)):
                    continue
                metric, filter_key = _split(key)
                n = sum(len(per_sample.get(m, (None, {}))[1].get((metric, filter_key), [])) for m in members)
                stderr = entry.get(f"{metric}_stderr,{filter_key}")
                stderr = float(stderr) if isinstance(stderr, (int, float)) and not math.isnan(stderr) else None
                low, high = _interval(raw.get((metric, filter_key)), value, stderr, seed)
                rows.append({"task": PREFIX + name, "task_hash": task_hash,
                             "metric": metric if filter_key == "none" else f"{metric},{filter_key}",
                             "value": float(value), "stderr": stderr, "ci_low": low, "ci_high": high, "n": n})
    return rows


def _interval(values: list | None, value: float, stderr: float | None, seed: int) -> tuple[Any, Any]:
    """Percentile bootstrap of the mean when the metric is a mean of 0/1 or real per-sample numbers, else +-1.96 SE."""
    if values and all(isinstance(v, (int, float)) for v in values):
        numbers = [float(v) for v in values]
        if abs(sum(numbers) / len(numbers) - value) < 1e-9:
            return bootstrap_ci(numbers, seed=seed)
    if stderr is None:
        return None, None
    return value - 1.96 * stderr, value + 1.96 * stderr
