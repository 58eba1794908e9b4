"""Metric names each kind of task stores, to check a spec column whose task has no results yet.

When the database holds results for a task, its stored metrics are the truth and this table is not used.
Kept in step with lmbench.scoring by tests/test_leaderboard.py (leaderboards import nothing that computes).
"""

from __future__ import annotations

CHOICE = ("acc", "acc_norm")
CHOICE_GROUP = CHOICE + ("acc_macro", "acc_norm_macro")
NLL = ("nll", "nll_per_token", "perplexity", "bits_per_byte", "scored_tokens")
NLL_GROUP = NLL + ("nll_macro",)
GENERATE = ("reward", "perplexity", "nll_per_token", "msttr_100", "distinct_1", "distinct_2", "unique_1",
            "unique_2", "vocab_1", "vocab_2", "mean_pred_length")
REFERENCE = ("bleu", "rougeL", "meteor", "nist")
ROLLING = ("word_perplexity", "byte_perplexity", "bits_per_byte")
# lm-evaluation-harness tasks report their own metric names; these are the common ones.
HARNESS = ("acc", "acc_norm", "mc1", "mc2", "exact_match", "f1", "bleu", "rouge1", "rouge2", "rougeL",
           "word_perplexity", "byte_perplexity", "bits_per_byte", "perplexity")
SUITE = ("average",)

_GROUPS = {"mmlu": CHOICE_GROUP, "mmlu_medical": CHOICE_GROUP, "lmflow_nll": NLL_GROUP, "open_llm_v1": SUITE}
_PREFIXES = (("lm_eval:", HARNESS), ("lmflow_nll_", NLL), ("nll:", NLL), ("hh_rlhf_", GENERATE),
             ("gen:", GENERATE + REFERENCE), ("ppl:", ROLLING))
ALL = tuple(dict.fromkeys(CHOICE_GROUP + NLL_GROUP + GENERATE + REFERENCE + ROLLING + HARNESS + SUITE))


def expected_metrics(task: str) -> tuple[str, ...]:
    """The metrics a task of this name stores once evaluated (multiple choice unless its name says otherwise)."""
    if task in _GROUPS:
        return _GROUPS[task]
    for prefix, metrics in _PREFIXES:
        if task.startswith(prefix):
            return metrics
    return CHOICE
