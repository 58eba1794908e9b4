"""The harness plugin: `lm_eval:NAME` (any lm-evaluation-harness task, group or tag) and the Open LLM
Leaderboard v1 suite, registered into lmbench's task registry (which loads this module by name)."""

from __future__ import annotations

from lmbench.errors import TaskError
from lmbench.harness.task import HarnessTask
from lmbench.tasks.registry import Suite, register_prefix, register_suite


def _harness_task(name: str) -> HarnessTask:
    if not name.strip():
        raise TaskError("lm_eval: needs a harness task name, e.g. --tasks lm_eval:arc_challenge")
    return HarnessTask(name.strip())


register_prefix("lm_eval", _harness_task)

# LMFlow paper, Table 4 (= the Open LLM Leaderboard v1): MMLU is lmbench's own, parity-tested against the
# harness's `mmlu` (same prompts and log-likelihoods), read from the MMLU files; its headline is the
# unweighted mean of the 57 subjects.
register_suite(Suite(
    "open_llm_v1",
    shots=(("lm_eval:arc_challenge", 25), ("lm_eval:hellaswag", 10), ("mmlu", 5), ("lm_eval:truthfulqa_mc2", 0)),
    headline=(("lm_eval:arc_challenge", "acc_norm"), ("lm_eval:hellaswag", "acc_norm"), ("mmlu", "acc_macro"),
              ("lm_eval:truthfulqa_mc2", "acc")),  # the harness names the MC2 score `acc`
    citation="Open LLM Leaderboard v1 (Hugging Face, 2023); LMFlow (arXiv 2306.12420) Table 4",
))
