"""Engine outputs -> per-question records -> per-task and per-group aggregates, for each kind of task.

choice (multiple choice): acc, acc_norm. nll (LMFlow NLL benchmark): nll = mean over samples of the summed
negative log-likelihood of the scored tokens (nats); nll_per_token = sum of NLL / sum of scored tokens;
perplexity = exp(nll_per_token); bits_per_byte = sum of NLL / (ln 2 * sum of scored UTF-8 bytes).
rolling (harness loglikelihood_rolling): word_perplexity = exp(-sum ll / sum words), byte_perplexity =
exp(-sum ll / sum bytes), bits_per_byte = -sum ll / (ln 2 * sum bytes); words = len(re.split(r"\s+", text)).
"""

from __future__ import annotations

from typing import Any

import math
import re

import pandas as pd

from lmbench.metrics.aggregate import Aggregate, macro, mean_stderr
from lmbench.metrics.stats import bootstrap_ci, clustered_stderr
from lmbench.metrics.choice import argmax, choice_scores
from lmbench.tasks.prepare import PreparedTask
from lmbench.tasks.registry import suites as registry_suites

METRICS = ("acc", "acc_norm")
NLL_METRICS = ("nll", "nll_per_token", "perplexity", "bits_per_byte")


def sample_records(item: PreparedTask, docs: list, prompts: list[str], outputs: list) -> list[dict[str, Any]]:
    """One record per question (outputs in request order): choice log-probs or the NLL of the reference."""
    if item.task.kind == "generate":
        references = {}
        if getattr(item.task, "reference_metrics", False):
            from lmbench.metrics.reference import reference_metrics

            per_sample, _ = reference_metrics([o["text"] for o in outputs], [d.reference for d in docs])
            references = {i: row for i, row in enumerate(per_sample)}
        return [{"task": item.task.name, "task_hash": item.task_hash, "doc_id": doc.doc_id, "doc_hash": doc.doc_hash,
                 "prompt": prompt, "target": doc.reference, "prediction": out["text"], "choices": [],
                 "logprobs": [-out["nll"]], "metrics": {"reward": out["reward"], "nll": out["nll"],
                                                        "n_tokens": out["n_tokens"], "n_new_tokens": out["n_new_tokens"],
                                                        "stopped_by_eos": float(out["stopped_by"] == "eos"),
                                                        **references.get(i, {})},
                 "flagged": out["truncated"]}
                for i, (doc, prompt, out) in enumerate(zip(docs, prompts, outputs))]
    if item.task.kind == "rolling":
        return [{"task": item.task.name, "task_hash": item.task_hash, "doc_id": doc.doc_id, "doc_hash": doc.doc_hash,
                 "prompt": prompt, "target": None, "prediction": None, "choices": [], "logprobs": [ll],
                 "metrics": {"loglikelihood": ll, "words": len(re.split(r"\s+", doc.text)),
                             "bytes": len(doc.text.encode("utf-8"))}, "flagged": False}
                for doc, prompt, ll in zip(docs, prompts, outputs)]
    if item.task.kind == "nll":
        return [{"task": item.task.name, "task_hash": item.task_hash, "doc_id": doc.doc_id, "doc_hash": doc.doc_hash,
                 "prompt": prompt, "target": doc.target, "prediction": None, "choices": [], "logprobs": [-out.nll],
                 "metrics": {"nll": out.nll, "n_tokens": out.n_tokens, "n_bytes": out.n_bytes,
                             "n_windows": out.n_windows}, "flagged": False}
                for doc, prompt, out in zip(docs, prompts, outputs)]
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
    """Per-task rows, then one block per group asked for (see `_choice_task`, `_nll_rows`)."""
    kinds = {item.task.name: item.task.kind for item in prepared}
    by_task = {name: [m for m in samples.loc[samples["task"] == name, "metrics"]] for name in kinds}
    rows, per_task = [], {}
    for item in prepared:
        name = item.task.name
        if item.task.kind == "harness":
            continue  # aggregated below, per `lm_eval:` spec, by the harness's own functions
        if item.task.kind == "nll":
            task_rows = _nll_rows(name, by_task[name], seed)
        elif item.task.kind == "rolling":
            task_rows = _rolling_rows(name, by_task[name])
        elif item.task.kind == "generate":
            rows_of_task = samples.loc[samples["task"] == name]
            task_rows = _generation_rows(name, by_task[name], list(rows_of_task["prediction"]))
            if getattr(item.task, "reference_metrics", False):
                task_rows += _reference_rows(name, list(rows_of_task["prediction"]), list(rows_of_task["target"]))
        else:
            task_rows, per_task[name] = _choice_task(name, by_task[name], seed)
        rows += [{**r, "task_hash": item.task_hash} for r in task_rows]
    harness = [item for item in prepared if item.task.kind == "harness"]
    if harness:
        from lmbench.harness.results import harness_result_rows

        rows += harness_result_rows(harness, samples, seed)
    suites = registry_suites()
    for group, members in groups.items():
        if group in suites:
            continue
        if all(kinds.get(m) == "nll" for m in members):
            pooled = [m for t in members for m in by_task[t]]
            group_rows = _nll_rows(group, pooled, seed)
            means = [mean_stderr([m["nll"] for m in by_task[t]]) for t in members]
            group_rows.append({"task": group, "metric": "nll_macro", **_row(macro(means))})
        else:
            group_rows = _choice_group(group, members, samples, per_task)
        rows += [{**r, "task_hash": None} for r in group_rows]
    for group in groups:
        if group in suites:
            rows += _suite_rows(suites[group], rows)
    return pd.DataFrame(rows)


def _suite_rows(suite: Any, rows: list[dict]) -> list[dict]:
    """The suite's `average`: plain mean of its headline metrics (absent when one of them is missing)."""
    values = {(r["task"], r["metric"]): r["value"] for r in rows}
    headline = [values.get(key) for key in suite.headline]
    if any(v is None for v in headline):
        return []
    return [{"task": suite.name, "metric": "average", "value": sum(headline) / len(headline), "stderr": None,
             "ci_low": None, "ci_high": None, "n": len(headline), "task_hash": None}]


def _choice_task(name: str, metrics: list[dict], seed: int) -> tuple[list[dict], dict[str, Aggregate]]:
    """Mean, stderr (n-1) and a percentile-bootstrap 95% CI (fixed seed) of acc and acc_norm."""
    rows, aggs = [], {}
    for metric in METRICS:
        values = [s[metric] for s in metrics]
        aggs[metric] = agg = mean_stderr(values)
        low, high = bootstrap_ci(values, seed=seed) if values else (None, None)
        rows.append({"task": name, "metric": metric, **_row(agg), "ci_low": low, "ci_high": high})
    return rows, aggs


def _choice_group(group: str, members: tuple[str, ...], samples: pd.DataFrame,
                  per_task: dict[str, dict[str, Aggregate]]) -> list[dict]:
    """Micro (all questions; stderr clustered by task, CI = mean +- 1.96 SE) and macro (mean of task means)."""
    rows = []
    in_group = samples[samples["task"].isin(members)]
    for metric in METRICS:
        values = [s[metric] for s in in_group["metrics"]]
        micro = mean_stderr(values)
        se = clustered_stderr(values, list(in_group["task"])) if len(members) > 1 and values else micro.stderr
        rows.append({"task": group, "metric": metric, "value": micro.value, "stderr": se,
                     "ci_low": None if se is None else micro.value - 1.96 * se,
                     "ci_high": None if se is None else micro.value + 1.96 * se, "n": micro.n})
        rows.append({"task": group, "metric": f"{metric}_macro",
                     **_row(macro([per_task[t][metric] for t in members if t in per_task]))})
    return rows


def _nll_rows(name: str, metrics: list[dict], seed: int) -> list[dict]:
    nll = [m["nll"] for m in metrics]
    tokens = sum(m["n_tokens"] for m in metrics)
    n_bytes = sum(m["n_bytes"] for m in metrics)
    agg = mean_stderr(nll)
    low, high = bootstrap_ci(nll, seed=seed) if nll else (None, None)
    per_token = sum(nll) / tokens if tokens else float("nan")
    rows = [{"task": name, "metric": "nll", **_row(agg), "ci_low": low, "ci_high": high}]
    for metric, value in (("nll_per_token", per_token), ("perplexity", math.exp(per_token) if tokens else float("nan")),
                          ("bits_per_byte", sum(nll) / (math.log(2) * n_bytes) if n_bytes else float("nan")),
                          ("scored_tokens", float(tokens))):
        rows.append({"task": name, "metric": metric, "value": value, "stderr": None, "ci_low": None,
                     "ci_high": None, "n": len(nll)})
    return rows


def _generation_rows(name: str, metrics: list[dict], predictions: list[str]) -> list[dict]:
    """RAFT Table 5: mean reward, perplexity of the responses, diversity (DESIGN.md definitions). A metric that
    cannot be computed (no reward model, no full 100-token segment, empty responses) is stored as NULL."""
    from lmbench.metrics.diversity import diversity_metrics

    rows = []
    rewards = [m["reward"] for m in metrics]
    if rewards and None not in rewards:
        rows.append({"task": name, "metric": "reward", **_row(mean_stderr(rewards))})
    tokens = sum(m["n_tokens"] for m in metrics)
    nll = sum(m["nll"] for m in metrics)
    values: dict[str, float | None] = {"perplexity": math.exp(nll / tokens) if tokens else None,
                                       "nll_per_token": nll / tokens if tokens else None}
    diversity = diversity_metrics(predictions)
    for key in ("msttr_100", "distinct_1", "distinct_2", "unique_1", "unique_2", "vocab_1", "vocab_2",
                "mean_pred_length"):
        values[key] = diversity.get(key)
    for key, value in values.items():
        rows.append({"task": name, "metric": key, "value": None if value is None else float(value), "stderr": None,
                     "ci_low": None, "ci_high": None, "n": len(metrics)})
    return rows


def _reference_rows(name: str, predictions: list[str], references: list[str]) -> list[dict]:
    """Corpus-level BLEU (sacrebleu), ROUGE-L, METEOR (means of samples) and NIST, as their implementations do."""
    from lmbench.metrics.reference import reference_metrics

    _, corpus = reference_metrics(predictions, references)
    return [{"task": name, "metric": key, "value": None if corpus.get(key) is None else float(corpus[key]),
             "stderr": None, "ci_low": None, "ci_high": None, "n": len(predictions)}
            for key in ("bleu", "rougeL", "meteor", "nist")]


def _rolling_rows(name: str, metrics: list[dict]) -> list[dict]:
    """Corpus-level (weighted) perplexities, as lm-evaluation-harness aggregates them."""
    ll = sum(m["loglikelihood"] for m in metrics)
    words = sum(m["words"] for m in metrics)
    n_bytes = sum(m["bytes"] for m in metrics)
    values = {"word_perplexity": math.exp(-ll / words), "byte_perplexity": math.exp(-ll / n_bytes),
              "bits_per_byte": -ll / n_bytes / math.log(2)}
    return [{"task": name, "metric": k, "value": v, "stderr": None, "ci_low": None, "ci_high": None,
             "n": len(metrics)} for k, v in values.items()]


def _row(a: Aggregate) -> dict[str, Any]:
    return {"value": a.value, "stderr": a.stderr, "ci_low": None, "ci_high": None, "n": a.n}
