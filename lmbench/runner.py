"""One evaluation: checkpoint + tasks -> engine -> metrics -> store, resumable and cached.

`evaluate(config)` is `Plan.from_config(config).run(config.checkpoint)` (lmbench.plan): the plan prepares
the tasks once, `run` evaluates one model (a checkpoint or an in-memory model) through them.

Order of work: options, tasks, data and the database are checked before any
weights load, so bad input fails in a second. The checkpoint is fingerprinted
without loading its weights; questions this model already answered under the
same task hash (in any run) are reused, and an unfinished run with the same
plan is resumed rather than restarted. Samples are written every
`write_every` questions, so a killed run loses at most that many. The
database is opened only for short writes (DuckDB lets one process hold the
file), so concurrent evaluations can share it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lmbench.engine.batching import parse_batch_size
from lmbench.errors import ConfigError
from lmbench.models.options import DEVICES, DTYPES
from lmbench.models.sources import resolve_source

if TYPE_CHECKING:
    import pandas as pd

    from lmbench.tasks.protocol import PreparedTask


@dataclass
class EvalConfig:
    checkpoint: str | None = None
    tasks: str = "lmbench_sample"
    shots: int | None = None  # None: each task's default (MMLU 5, others 0)
    limit: int | None = None  # first N questions of each task
    sample: int | None = None  # N questions of each task drawn with `seed` (instead of --limit)
    seed: int = 1234
    batch_size: str = "auto"
    dtype: str = "auto"
    device: str = "auto"
    data_dir: str | None = None
    db: str | None = None
    max_length: int | None = None
    base: str | None = None
    trust_remote_code: bool = False
    allow_pickle: bool = False
    reuse_prefix: bool = True
    progress: bool = True
    force: bool = False  # recompute everything: no cached samples, no resume
    write_every: int = 64  # questions per database write (what a kill can lose)
    nll_prompt: str | None = None  # NLL text2text/conversation prompt; default LMFlow's "###Human: {input}###Assistant:"
    reward_model: str | None = None  # generation tasks: sequence-classification checkpoint with one output
    ppl_model: str | None = None  # generation tasks: model scoring the responses' perplexity (default: the evaluated one)
    max_new_tokens: int | None = None  # generation tasks: override the task's default
    temperature: float = 0.0  # generation tasks: 0 = greedy; sampling is seeded per question from --seed
    include_path: tuple[str, ...] = ()  # lm_eval: tasks: folders of harness task YAMLs, searched first


@dataclass
class EvalOutcome:
    run_id: str
    model_name: str
    fingerprint: str
    db_path: Path
    results: pd.DataFrame  # task, metric, value, stderr, ci_low, ci_high, n, task_hash
    samples: pd.DataFrame  # one row per question
    timings: dict[str, float]
    reused: int = 0  # questions taken from earlier runs instead of computed
    status: str = "done"  # "done", or "cached" when an identical finished run was found
    computed: int = field(default=0)  # questions this run scored itself


def check_options(config: EvalConfig) -> None:
    """Option values that need no file: fail before anything is read (every numeric option is range-checked)."""
    import math

    parse_batch_size(config.batch_size)
    for flag, value, allowed in (("--dtype", config.dtype, DTYPES), ("--device", config.device, DEVICES)):
        if value not in allowed:
            raise ConfigError(f"{flag} {value!r} is not one of {', '.join(allowed)}")
    for flag, value, low, what in (("--limit", config.limit, 1, "1 or more questions per task"),
                                   ("--sample", config.sample, 1, "1 or more questions per task"),
                                   ("--shots", config.shots, 0, "0 or more few-shot examples"),
                                   ("--max-length", config.max_length, 2, "a context of 2 or more tokens"),
                                   ("--max-new-tokens", config.max_new_tokens, 1, "1 or more new tokens"),
                                   ("--write-every", config.write_every, 1, "1 or more questions per database write"),
                                   ("--seed", config.seed, 0, "0 or more")):
        if value is not None and value < low:
            raise ConfigError(f"{flag} {value} is out of range: expected {what}")
    if config.sample is not None and config.limit is not None:
        raise ConfigError("--sample and --limit cannot be combined; choose one")
    if not math.isfinite(config.temperature) or config.temperature < 0:
        raise ConfigError(f"--temperature {config.temperature} is out of range: expected 0 (greedy) or a positive "
                          "number")
    resolve_source(config.checkpoint, base=config.base)  # a wrong path fails before any data is read
    if config.ppl_model:
        resolve_source(config.ppl_model)


def run_key(fingerprint: str, prepared: list[PreparedTask], seed: int | None = None) -> str:
    """Same model, same tasks (hash covers prompts and data), same questions, same seed (it draws the
    bootstrap CIs): the same run."""
    plan = [fingerprint] + [[p.task_hash, [d.doc_hash for d in p.data.docs]] for p in prepared]
    if seed is not None:
        plan.append(["seed", seed])
    return hashlib.sha256(json.dumps(plan).encode()).hexdigest()[:16]


def evaluate(config: EvalConfig) -> EvalOutcome:
    """Run one evaluation end to end and record it (what `lmbench eval` does); see the module docstring."""
    from lmbench.plan import Plan

    check_options(config)  # the checkpoint path too: a wrong path fails before any data is read
    plan = Plan.from_config(config)
    return plan.run(config.checkpoint)
