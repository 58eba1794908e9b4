"""One evaluation: checkpoint + tasks -> engine -> metrics -> store.

Data and the database are checked before the model loads, so bad input fails
in a second; the run is recorded as `running` first and marked done, failed or
interrupted at the end. Resume and per-sample streaming come with the cache.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lmbench.data.locate import data_root
from lmbench.engine.batching import parse_batch_size
from lmbench.errors import ConfigError
from lmbench.models.options import DEVICES, DTYPES
from lmbench.metrics.aggregate import Aggregate, macro, mean_stderr
from lmbench.metrics.choice import argmax, choice_scores
from lmbench.models.fingerprint import files_digest
from lmbench.models.sources import resolve_source
from lmbench.paths import default_db_path
from lmbench.provenance import git_sha, library_versions
from lmbench.tasks import MultipleChoiceTask, TaskData, resolve

METRICS = ("acc", "acc_norm")


@dataclass
class EvalConfig:
    checkpoint: str | None = None
    tasks: str = "lmbench_sample"
    shots: int | None = None  # None: each task's default (MMLU 5, others 0)
    limit: int | None = None  # first N questions of each task
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


@dataclass
class PreparedTask:
    task: MultipleChoiceTask
    data: TaskData
    shots: int
    task_hash: str
    prompts: list[str] = field(default_factory=list)


@dataclass
class EvalOutcome:
    run_id: str
    model_name: str
    fingerprint: str
    db_path: Path
    results: Any  # pandas DataFrame: task, metric, value, stderr, n
    samples: Any  # pandas DataFrame, one row per question
    timings: dict[str, float]


def prepare(config: EvalConfig) -> tuple[list[PreparedTask], dict[str, tuple[str, ...]]]:
    """Resolve tasks, read their data and build every prompt; all input errors surface here."""
    if config.limit is not None and config.limit < 1:
        raise ConfigError(f"--limit {config.limit} must be a positive number of questions per task")
    if config.shots is not None and config.shots < 0:
        raise ConfigError(f"--shots {config.shots} must be 0 or more")
    parse_batch_size(config.batch_size)
    if config.dtype not in DTYPES or config.device not in DEVICES:
        bad = ("--dtype", config.dtype, DTYPES) if config.dtype not in DTYPES else ("--device", config.device, DEVICES)
        raise ConfigError(f"{bad[0]} {bad[1]!r} is not one of {', '.join(bad[2])}")
    resolve_source(config.checkpoint, base=config.base)  # a wrong path fails before any data is read
    tasks, groups = resolve(config.tasks)
    root = data_root(config.data_dir)
    prepared = []
    for task in tasks:
        data = task.loader(root)
        shots = task.default_shots if config.shots is None else config.shots
        docs = data.docs[: config.limit] if config.limit else data.docs
        data = TaskData(docs, data.fewshot, data.files, data.fewshot_excludes_self)
        prompts = [task.prompt(doc, task.shots_for(doc, data, shots)) for doc in docs]
        task_hash = task.task_hash(data, shots, files_digest(data.files) if data.files else {})
        prepared.append(PreparedTask(task, data, shots, task_hash, prompts))
    return prepared, groups


def score_samples(prepared: list[PreparedTask], results: list) -> Any:
    """Per-question records (prompt, choice log-probs, prediction, metrics) as a DataFrame."""
    import pandas as pd

    rows, cursor = [], 0
    for item in prepared:
        for doc, prompt in zip(item.data.docs, item.prompts):
            chunk = results[cursor : cursor + len(doc.choices)]
            cursor += len(doc.choices)
            logprobs = [r.logprob for r in chunk]
            rows.append({
                "task": item.task.name, "task_hash": item.task_hash, "doc_id": doc.doc_id, "doc_hash": doc.doc_hash,
                "group": doc.group, "prompt": prompt, "target": doc.choices[doc.gold],
                "prediction": doc.choices[argmax(logprobs)], "choices": list(doc.choices), "logprobs": logprobs,
                "metrics": choice_scores(logprobs, doc.choices, doc.gold), "flagged": any(r.flagged for r in chunk),
            })
    return pd.DataFrame(rows)


def aggregate(prepared: list[PreparedTask], samples: Any, groups: dict[str, tuple[str, ...]]) -> Any:
    """Per-task mean +- stderr; for each group asked for, micro (all questions) and macro (mean of tasks)."""
    import pandas as pd

    per_task: dict[str, dict[str, Aggregate]] = {}
    for item in prepared:
        metrics = samples.loc[samples["task"] == item.task.name, "metrics"]
        per_task[item.task.name] = {m: mean_stderr([s[m] for s in metrics]) for m in METRICS}
    hashes = {item.task.name: item.task_hash for item in prepared}
    rows = [{"task": t, "task_hash": hashes[t], "metric": m, **_agg(a)} for t, ms in per_task.items() for m, a in ms.items()]
    for group, members in groups.items():
        in_group = samples[samples["task"].isin(members)]
        for metric in METRICS:
            micro = mean_stderr([s[metric] for s in in_group["metrics"]])
            rows.append({"task": group, "task_hash": None, "metric": metric, **_agg(micro)})
            rows.append({"task": group, "task_hash": None, "metric": f"{metric}_macro",
                         **_agg(macro([per_task[t][metric] for t in members]))})
    return pd.DataFrame(rows)


def _agg(a: Aggregate) -> dict[str, Any]:
    return {"value": a.value, "stderr": a.stderr, "ci_low": None, "ci_high": None, "n": a.n}


def evaluate(config: EvalConfig) -> EvalOutcome:
    """Run one evaluation end to end and record it; see the module docstring.

    The database is opened only for short writes (DuckDB lets one process hold the file), so other
    lmbench processes can read and write it while this one computes.
    """
    from lmbench.store import Store

    started = time.perf_counter()
    prepared, groups = prepare(config)
    db_path = Path(config.db) if config.db else default_db_path()
    Store(db_path).close()  # validate (and create or migrate) before the slow model load

    import torch

    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.models.loader import load_model

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    t0 = time.perf_counter()
    lm = load_model(config.checkpoint, dtype=config.dtype, device=config.device, max_length=config.max_length,
                    trust_remote_code=config.trust_remote_code, allow_pickle=config.allow_pickle, base=config.base)
    timings = {"prepare_s": t0 - started, "load_s": time.perf_counter() - t0}
    with Store(db_path) as store:
        _register(store, lm, prepared)
        run_id = store.start_run(model_fingerprint=lm.fingerprint, config=_run_config(config, prepared),
                                 seed=config.seed, device=lm.device, versions=library_versions(),
                                 git_sha=git_sha(), command=" ".join(["lmbench", *sys.argv[1:]]))
    try:
        t1 = time.perf_counter()
        engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=config.batch_size,
                                     reuse_prefix=config.reuse_prefix, progress=config.progress)
        requests = [r for item in prepared for doc, p in zip(item.data.docs, item.prompts)
                    for r in item.task.requests(p, doc)]
        outputs = engine.run(requests)
        timings["score_s"] = time.perf_counter() - t1
        samples = score_samples(prepared, outputs)
        results = aggregate(prepared, samples, groups)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        with Store(db_path) as store:
            store.finish_run(run_id, status=status, timings=timings, error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    timings["total_s"] = time.perf_counter() - started
    with Store(db_path) as store:
        store.write_samples(run_id, samples.drop(columns=["group"]))
        store.write_results(run_id, results)
        store.finish_run(run_id, status="done", timings=timings)
    return EvalOutcome(run_id, lm.name, lm.fingerprint, db_path, results, samples, timings)


def _register(store: Any, lm: Any, prepared: list[PreparedTask]) -> None:
    store.upsert_model(fingerprint=lm.fingerprint, name=lm.name, source=lm.source.spec, kind=lm.source.kind,
                       revision=lm.identity.get("revision"), dtype=lm.dtype, n_params=lm.n_params,
                       base_model=lm.base_name, lineage={"base_fingerprint": lm.base_fingerprint} if lm.base_name else {},
                       identity=lm.identity)
    for item in prepared:
        store.upsert_task(task_hash=item.task_hash, name=item.task.name, version=item.task.version,
                          family=item.task.family, config={"template": item.task.template, "shots": item.shots,
                                                           "description": item.task.description,
                                                           "n_docs": len(item.data.docs)})


def _run_config(config: EvalConfig, prepared: list[PreparedTask]) -> dict[str, Any]:
    return {**asdict(config), "task_shots": {p.task.name: p.shots for p in prepared}}
