"""Aggregates of the NLL and rolling-perplexity families (definitions in DESIGN.md).

nll (LMFlow NLL benchmark): nll = mean over samples of the summed negative log-likelihood of the scored
tokens (nats); nll_per_token = sum of NLL / sum of scored tokens; perplexity = exp(nll_per_token);
bits_per_byte = sum of NLL / (ln 2 * sum of scored UTF-8 bytes). rolling (harness loglikelihood_rolling):
word_perplexity = exp(-sum ll / sum words), byte_perplexity = exp(-sum ll / sum bytes),
bits_per_byte = -sum ll / (ln 2 * sum bytes); words = len(re.split(r"\\s+", text)).
"""

from __future__ import annotations

import math

from lmbench.metrics.aggregate import macro, mean_stderr
from lmbench.tasks.protocol import ResultRow

NLL_METRICS = ("nll", "nll_per_token", "perplexity", "bits_per_byte", "scored_tokens")
ROLLING_METRICS = ("word_perplexity", "byte_perplexity", "bits_per_byte")


def nll_rows(name: str, metrics: list[dict], seed: int, task_hash: str | None = None) -> list[ResultRow]:
    from lmbench.metrics.stats import bootstrap_ci  # numpy: only when aggregating

    nll = [m["nll"] for m in metrics]
    tokens = sum(m["n_tokens"] for m in metrics)
    n_bytes = sum(m["n_bytes"] for m in metrics)
    agg = mean_stderr(nll)
    low, high = bootstrap_ci(nll, seed=seed) if nll else (None, None)
    per_token = sum(nll) / tokens if tokens else float("nan")
    rows = [ResultRow(name, "nll", agg.value, agg.stderr, low, high, agg.n, task_hash)]
    for metric, value in (("nll_per_token", per_token), ("perplexity", math.exp(per_token) if tokens else float("nan")),
                          ("bits_per_byte", sum(nll) / (math.log(2) * n_bytes) if n_bytes else float("nan")),
                          ("scored_tokens", float(tokens))):
        rows.append(ResultRow(name, metric, value, n=len(nll), task_hash=task_hash))
    return rows


def nll_group_rows(name: str, per_task: list[list[dict]], seed: int) -> list[ResultRow]:
    """The members' samples pooled, plus nll_macro: the unweighted mean of the members' mean NLL."""
    rows = nll_rows(name, [m for metrics in per_task for m in metrics], seed)
    means = macro([mean_stderr([m["nll"] for m in metrics]) for metrics in per_task])
    return rows + [ResultRow(name, "nll_macro", means.value, means.stderr, n=means.n)]


def rolling_rows(name: str, metrics: list[dict], task_hash: str | None = None) -> list[ResultRow]:
    """Corpus-level (weighted) perplexities, as lm-evaluation-harness aggregates them."""
    ll = sum(m["loglikelihood"] for m in metrics)
    words = sum(m["words"] for m in metrics)
    n_bytes = sum(m["bytes"] for m in metrics)
    values = {"word_perplexity": math.exp(-ll / words), "byte_perplexity": math.exp(-ll / n_bytes),
              "bits_per_byte": -ll / n_bytes / math.log(2)}
    return [ResultRow(name, k, v, n=len(metrics), task_hash=task_hash) for k, v in values.items()]
