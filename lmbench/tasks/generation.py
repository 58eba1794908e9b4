"""The generation family: answer each prompt, then score the answers (reward, perplexity, diversity, references).

Decoding settings (--temperature, --max-new-tokens, sampling seeded per question from --seed) and the models
that score the answers (--reward-model, --ppl-model, identified by their content fingerprints) decide the
numbers, so they are folded into the task hash: a retrained reward model at the same path is a new cache key.
Side scoring lives here: the reward and perplexity models come from the scoring context, built once per plan.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lmbench.engine.requests import GenerateRequest, NllRequest
from lmbench.tasks.protocol import (PrepareOptions, PreparedTask, ResultRow, SampleRecord, ScoringContext,
                                    TaskFamily, stable_hash, task_samples)

if TYPE_CHECKING:
    import pandas as pd

GENERATE_METRICS = ("reward", "perplexity", "nll_per_token", "msttr_100", "distinct_1", "distinct_2", "unique_1",
                    "unique_2", "vocab_1", "vocab_2", "mean_pred_length")
REFERENCE_METRICS = ("bleu", "rougeL", "meteor", "nist")
_DIVERSITY = ("msttr_100", "distinct_1", "distinct_2", "unique_1", "unique_2", "vocab_1", "vocab_2",
              "mean_pred_length")


def generation_identity(options: PrepareOptions) -> dict[str, Any]:
    """What, besides the task, decides a generation task's numbers (folded into its task hash)."""
    reward = ppl = None
    if options.reward_model:
        from lmbench.engine.reward import reward_fingerprint

        reward = reward_fingerprint(options.reward_model)
    if options.ppl_model:
        from lmbench.models.loader import inspect_checkpoint

        ppl = inspect_checkpoint(options.ppl_model).fingerprint
    return {"reward_model": reward, "ppl_model": ppl, "temperature": options.temperature,
            "max_new_tokens": options.max_new_tokens, "seed": options.seed if options.temperature > 0 else None}


class GenerationFamily(TaskFamily):
    """Shared by hh_rlhf_* and gen:FILE; subclasses give `load`, `prompt` and `requests`."""

    metrics: ClassVar[tuple[str, ...]] = GENERATE_METRICS
    reference_metrics: ClassVar[bool] = False

    def shots_to_use(self, options: PrepareOptions) -> int:
        return 0

    def prepare(self, root: Path | None, options: PrepareOptions) -> list[PreparedTask]:
        from lmbench.engine.reward import PAIR_FORMAT

        extra = stable_hash(generation_identity(options))
        notes = {"reward_pair_format": PAIR_FORMAT if options.reward_model else None,
                 "ppl_model_used": options.ppl_model or "the evaluated model"}
        return [replace(item, task_hash=hashlib.sha256((item.task_hash + extra).encode()).hexdigest()[:16],
                        notes=notes) for item in TaskFamily.prepare(self, root, options)]

    def build_requests(self, item: PreparedTask, doc: Any, prompt: str) -> list[GenerateRequest]:
        options = item.options
        params: dict[str, Any] = {"do_sample": options.temperature > 0}
        if options.temperature > 0:
            params["temperature"] = options.temperature
        if options.max_new_tokens:
            params["max_new_tokens"] = options.max_new_tokens
        seed = options.seed + int(hashlib.sha256(prompt.encode()).hexdigest()[:6], 16)
        return [GenerateRequest(r.prompt, {**r.params, **params, "seed": seed})
                for r in self.requests(prompt, doc)]  # type: ignore[attr-defined]

    def score(self, item: PreparedTask, docs: list[Any], prompts: list[str], outputs: list[list[Any]],
              ctx: ScoringContext) -> list[SampleRecord]:
        """Answers -> perplexity under the evaluated model (or --ppl-model), reward (with --reward-model)."""
        generated = [out for (out,) in outputs]
        answers = [g.text for g in generated]
        options = item.options
        texts = ctx.shared("ppl", lambda: _ppl_scorer(options.ppl_model, ctx)) if options.ppl_model \
            else ctx.engine("texts")
        perplexity = texts.nll([NllRequest(((d.prompt, False), (a, True))) for d, a in zip(docs, answers)])
        if options.reward_model:
            reward = ctx.shared("reward", lambda: _reward_scorer(options.reward_model, ctx))
            rewards = reward.score([d.prompt for d in docs], answers)
        else:
            rewards = [None] * len(docs)
        references: dict[int, dict[str, Any]] = {}
        if self.reference_metrics:
            from lmbench.metrics.reference import reference_metrics

            per_sample, _ = reference_metrics(answers, [d.reference for d in docs])
            references = dict(enumerate(per_sample))
        return [self.record(item, doc, prompt, target=doc.reference, prediction=g.text, choices=[],
                            logprobs=[-p.nll], flagged=g.truncated,
                            metrics={"reward": r, "nll": p.nll, "n_tokens": p.n_tokens,
                                     "n_new_tokens": g.result.n_new_tokens,
                                     "stopped_by_eos": float(g.result.stopped_by == "eos"), **references.get(i, {})})
                for i, (doc, prompt, g, p, r) in enumerate(zip(docs, prompts, generated, perplexity, rewards))]

    def aggregate(self, items: list[PreparedTask], samples: pd.DataFrame, seed: int) -> list[ResultRow]:
        rows = []
        for item in items:
            mine = task_samples(samples, item.task.name)
            predictions = list(mine["prediction"]) if not mine.empty else []
            task_rows = generation_rows(item.task.name, list(mine["metrics"]) if not mine.empty else [], predictions)
            if self.reference_metrics:
                task_rows += reference_rows(item.task.name, predictions, list(mine["target"]) if not mine.empty else [])
            rows += [replace(r, task_hash=item.task_hash) for r in task_rows]
        return rows


def _ppl_scorer(spec: str, ctx: ScoringContext) -> Any:
    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.engine.nll import TextScorer
    from lmbench.models.loader import load_model

    other = load_model(spec, device=ctx.lm.device)
    return TextScorer(LoglikelihoodEngine(other.model, other.tokenizer, other.max_length, progress=False))


def _reward_scorer(spec: str, ctx: ScoringContext) -> Any:
    from lmbench.engine.reward import RewardScorer

    return RewardScorer(spec, device=ctx.lm.device)


def generation_rows(name: str, metrics: list[dict], predictions: list[str]) -> list[ResultRow]:
    """RAFT Table 5: mean reward, perplexity of the responses, diversity (DESIGN.md definitions). A metric that
    cannot be computed (no reward model, no full 100-token segment, empty responses) is stored as NULL."""
    from lmbench.metrics.aggregate import mean_stderr
    from lmbench.metrics.diversity import diversity_metrics

    rows = []
    rewards = [m["reward"] for m in metrics]
    if rewards and None not in rewards:
        agg = mean_stderr(rewards)
        rows.append(ResultRow(name, "reward", agg.value, agg.stderr, n=agg.n))
    tokens = sum(m["n_tokens"] for m in metrics)
    nll = sum(m["nll"] for m in metrics)
    values: dict[str, float | None] = {"perplexity": math.exp(nll / tokens) if tokens else None,
                                       "nll_per_token": nll / tokens if tokens else None}
    diversity = diversity_metrics(predictions)
    values.update({key: diversity.get(key) for key in _DIVERSITY})
    rows += [ResultRow(name, key, None if value is None else float(value), n=len(metrics))
             for key, value in values.items()]
    return rows


def reference_rows(name: str, predictions: list[str], references: list[str]) -> list[ResultRow]:
    """Corpus-level BLEU (sacrebleu), ROUGE-L, METEOR (means of samples) and NIST, as their implementations do."""
    from lmbench.metrics.reference import reference_metrics

    _, corpus = reference_metrics(predictions, references)
    return [ResultRow(name, key, None if corpus.get(key) is None else float(corpus[key]), n=len(predictions))
            for key in REFERENCE_METRICS]
