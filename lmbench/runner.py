"""One evaluation: checkpoint + tasks -> engine -> metrics -> store, resumable and cached.

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
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.engine.batching import parse_batch_size
from lmbench.errors import ConfigError
from lmbench.models.options import DEVICES, DTYPES
from lmbench.models.sources import resolve_source
from lmbench.paths import default_db_path
from lmbench.provenance import git_sha, library_versions
from lmbench.scoring import aggregate, sample_records
from lmbench.tasks.prepare import PreparedTask, prepare_tasks


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
    results: pd.DataFrame  # task, metric, value, stderr, n
    samples: pd.DataFrame  # one row per question
    timings: dict[str, float]
    reused: int = 0  # questions taken from earlier runs instead of computed
    status: str = "done"  # "done", or "cached" when an identical finished run was found


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


def generation_identity(config: EvalConfig) -> dict[str, Any]:
    """What, besides the task, decides a generation task's numbers: folded into its task hash (and so its cache key)."""
    from lmbench.engine.reward import check_reward_model
    from lmbench.models.fingerprint import files_digest

    reward = None
    if config.reward_model:
        folder = check_reward_model(config.reward_model)
        reward = files_digest(sorted(p for p in folder.iterdir() if p.is_file()))
    return {"reward_model": reward, "ppl_model": config.ppl_model, "temperature": config.temperature,
            "max_new_tokens": config.max_new_tokens, "seed": config.seed if config.temperature > 0 else None}


def run_key(fingerprint: str, prepared: list[PreparedTask]) -> str:
    """Same model, same tasks (hash covers prompts and data), same questions: the same run."""
    plan = [fingerprint] + [[p.task_hash, [d.doc_hash for d in p.data.docs]] for p in prepared]
    return hashlib.sha256(json.dumps(plan).encode()).hexdigest()[:16]


def evaluate(config: EvalConfig) -> EvalOutcome:
    """Run one evaluation end to end and record it; see the module docstring."""
    from lmbench.models.loader import inspect_checkpoint
    from lmbench.store import Store
    from lmbench.store.cache import cached_samples, latest_run, reopen_run

    started = time.perf_counter()
    check_options(config)
    prepared, groups = prepare_tasks(config.tasks, shots=config.shots, limit=config.limit, data_dir=config.data_dir,
                                     nll_prompt=config.nll_prompt, sample=config.sample, seed=config.seed,
                                     include_path=tuple(config.include_path))
    if any(p.task.kind == "generate" for p in prepared):
        extra = json.dumps(generation_identity(config), sort_keys=True)
        for p in prepared:
            if p.task.kind == "generate":
                p.task_hash = hashlib.sha256((p.task_hash + extra).encode()).hexdigest()[:16]
    db_path = Path(config.db) if config.db else default_db_path()
    Store(db_path).close()  # validate (create or migrate) before the slow part
    info = inspect_checkpoint(config.checkpoint, dtype=config.dtype, device=config.device,
                              max_length=config.max_length, trust_remote_code=config.trust_remote_code,
                              allow_pickle=config.allow_pickle, base=config.base)
    key = run_key(info.fingerprint, prepared)
    timings = {"prepare_s": time.perf_counter() - started}
    with Store(db_path) as store:
        previous = None if config.force else latest_run(store, key)
        if previous and previous["status"] == "done":
            _register(store, info, None, prepared)  # a new folder name of these weights becomes an alias
            return _finished_outcome(store, previous["run_id"], info, db_path, timings, prepared)
        cache = pd.DataFrame() if config.force else cached_samples(store, info.fingerprint, [p.task_hash for p in prepared])
    done = _index(cache)
    pending = [(p, [i for i, d in enumerate(p.data.docs) if (p.task_hash, d.doc_hash) not in done]) for p in prepared]
    n_pending = sum(len(idx) for _, idx in pending)
    lm = None
    if n_pending:
        from lmbench.models.loader import load_weights

        t0 = time.perf_counter()
        lm = load_weights(info)
        timings["load_s"] = time.perf_counter() - t0
    with Store(db_path) as store:
        _register(store, info, lm.n_params if lm else None, prepared)
        if previous and previous["resumable"]:
            run_id = previous["run_id"]
            reopen_run(store, run_id)
        else:
            run_id = store.start_run(model_fingerprint=info.fingerprint, config=_run_config(config, prepared, key, groups),
                                     seed=config.seed, device=info.device, versions=library_versions(),
                                     git_sha=git_sha(), command=" ".join(["lmbench", *sys.argv[1:]]))
        reused = _copy_cached(store, run_id, prepared, done)
    try:
        if lm is not None:
            t1 = time.perf_counter()
            timings.update(_compute(lm, config, pending, db_path, run_id))
            timings["score_s"] = time.perf_counter() - t1
        with Store(db_path) as store:
            samples = _run_samples(store, run_id, prepared)
            results = aggregate(prepared, samples, groups)
            timings["total_s"] = time.perf_counter() - started
            store.write_results(run_id, results)
            store.finish_run(run_id, status="done", timings=timings)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        with Store(db_path) as store:
            store.finish_run(run_id, status=status, timings=timings, error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    return EvalOutcome(run_id, info.name, info.fingerprint, db_path, results, samples, timings, reused)


def _index(cache: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    if cache.empty:
        return {}
    return {(row["task_hash"], row["doc_hash"]): row for row in cache.to_dict("records")}


def _copy_cached(store: Any, run_id: str, prepared: list[PreparedTask], done: dict) -> int:
    """Copy reused answers into this run (under this run's task name and doc id), so the run is complete."""
    rows = []
    for item in prepared:
        for doc in item.data.docs:
            hit = done.get((item.task_hash, doc.doc_hash))
            if hit is not None and hit.get("run_id") != run_id:  # a resumed run already holds its own answers
                rows.append({**{k: hit[k] for k in ("task_hash", "doc_hash", "prompt", "target", "prediction",
                                                     "choices", "logprobs", "metrics", "flagged")},
                             "task": item.task.name, "doc_id": doc.doc_id})
    if rows:
        store.write_samples(run_id, pd.DataFrame(rows))
    return len(rows)


def _compute(lm: Any, config: EvalConfig, pending: list, db_path: Path, run_id: str) -> dict[str, float]:
    """Score the pending questions task by task, writing every `write_every` questions; seconds per task."""
    import torch
    from tqdm.auto import tqdm

    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.engine.nll import TextScorer
    from lmbench.harness.results import harness_records
    from lmbench.store import Store

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=config.batch_size,
                                 reuse_prefix=config.reuse_prefix, progress=False)
    texts = TextScorer(engine)
    scorers: dict[str, Any] = {}  # generation, reward and perplexity models, built on first use
    # Choice questions count one request per option up front; NLL samples add their windows as they are cut.
    total = sum(len(item.data.docs[i].choices) for item, idx in pending if item.task.kind == "choice" for i in idx)
    total += sum(1 for item, idx in pending if item.task.kind == "harness" for i in idx
                 for r in item.state.instances[item.data.docs[i].doc_id] if r.request_type == "loglikelihood")
    seconds: dict[str, float] = {}
    with tqdm(total=total, desc="loglikelihood", unit="req", disable=not config.progress, file=sys.stderr,
              dynamic_ncols=True) as bar:
        for item, indices in pending:
            began = time.perf_counter()
            for start in range(0, len(indices), config.write_every):
                chunk = indices[start : start + config.write_every]
                docs = [item.data.docs[i] for i in chunk]
                prompts = [item.prompts[i] for i in chunk]
                if item.task.kind == "harness":
                    records = harness_records(item, docs, _bridge(scorers, lm, config, engine, texts, bar))
                    with Store(db_path) as store:
                        store.write_samples(run_id, pd.DataFrame(records))
                    continue
                requests = [r for doc, p in zip(docs, prompts) for r in item.task.requests(p, doc)]
                if item.task.kind == "generate":
                    outputs = _generate(scorers, lm, config, docs, requests, texts)
                elif item.task.kind == "nll":
                    outputs = texts.nll(requests, bar=bar)
                elif item.task.kind == "rolling":
                    outputs = texts.rolling(requests, bar=bar)
                else:
                    outputs = engine.run(requests, bar=bar)
                with Store(db_path) as store:
                    store.write_samples(run_id, pd.DataFrame(sample_records(item, docs, prompts, outputs)))
            if indices:
                seconds[f"task_s:{item.task.name}"] = time.perf_counter() - began
    return seconds


def _bridge(scorers: dict[str, Any], lm: Any, config: EvalConfig, engine: Any, texts: Any, bar: Any) -> Any:
    """The harness model class over this run's engines (the generation engine is built on first use)."""
    if "harness" not in scorers:
        from lmbench.harness.lm import LmbenchLM

        def generator() -> Any:
            from lmbench.engine.generate import GenerationEngine

            if "generate" not in scorers:
                scorers["generate"] = GenerationEngine(lm.model, lm.tokenizer, lm.max_length,
                                                       batch_size=config.batch_size, progress=config.progress)
            return scorers["generate"]

        scorers["harness"] = LmbenchLM(engine, texts, generator, bar=bar, seed=config.seed)
    return scorers["harness"]


def _generate(scorers: dict[str, Any], lm: Any, config: EvalConfig, docs: list, requests: list,
              texts: Any) -> list[dict[str, Any]]:
    """Generate answers, then score them: reward (if a reward model is given) and perplexity."""
    from lmbench.engine.generate import GenerationEngine, fit_prompts
    from lmbench.engine.requests import GenerateRequest, NllRequest

    if "generate" not in scorers:
        scorers["generate"] = GenerationEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=config.batch_size,
                                               progress=config.progress)
        if config.reward_model:
            from lmbench.engine.reward import RewardScorer

            scorers["reward"] = RewardScorer(config.reward_model, device=lm.device)
        if config.ppl_model:
            from lmbench.engine.loglikelihood import LoglikelihoodEngine
            from lmbench.engine.nll import TextScorer
            from lmbench.models.loader import load_model

            other = load_model(config.ppl_model, device=lm.device)
            scorers["ppl"] = TextScorer(LoglikelihoodEngine(other.model, other.tokenizer, other.max_length,
                                                            progress=False))
    params = {"do_sample": config.temperature > 0}
    if config.temperature > 0:
        params["temperature"] = config.temperature
    if config.max_new_tokens:
        params["max_new_tokens"] = config.max_new_tokens
    requests = [GenerateRequest(r.prompt, {**r.params, **params, "seed": config.seed + int(hashlib.sha256(
        r.prompt.encode()).hexdigest()[:6], 16)}) for r in requests]
    requests, truncated = fit_prompts(scorers["generate"], requests)
    generated = scorers["generate"].run(requests)
    answers = [g.text for g in generated]
    perplexity = scorers.get("ppl", texts).nll([NllRequest(((d.prompt, False), (a, True))) for d, a in zip(docs, answers)])
    rewards = scorers["reward"].score([d.prompt for d in docs], answers) if "reward" in scorers else [None] * len(docs)
    return [{"text": a, "reward": r, "nll": p.nll, "n_tokens": p.n_tokens, "n_new_tokens": g.n_new_tokens,
             "stopped_by": g.stopped_by, "truncated": t}
            for a, r, p, g, t in zip(answers, rewards, perplexity, generated, truncated)]


def _run_samples(store: Any, run_id: str, prepared: list[PreparedTask]) -> pd.DataFrame:
    """The run's samples in task and document order."""
    samples = store.samples(run_id)
    order = {(p.task.name, d.doc_id): n for n, (p, d) in enumerate((p, d) for p in prepared for d in p.data.docs)}
    samples["_order"] = [order.get((t, d), len(order)) for t, d in zip(samples["task"], samples["doc_id"])]
    return samples.sort_values("_order").drop(columns=["_order"]).reset_index(drop=True)


def _finished_outcome(store: Any, run_id: str, info: Any, db_path: Path, timings: dict,
                      prepared: list[PreparedTask]) -> EvalOutcome:
    results = store.results(run_id)
    samples = _run_samples(store, run_id, prepared)
    print(f"lmbench: already evaluated in run {run_id} (same model, prompts and questions); "
          "showing it. Pass --force to recompute.", file=sys.stderr)
    return EvalOutcome(run_id, info.name, info.fingerprint, db_path, results, samples, timings,
                       reused=len(samples), status="cached")


def _register(store: Any, info: Any, n_params: int | None, prepared: list[PreparedTask]) -> None:
    if n_params is None:  # nothing to compute: the model row exists from the run that cached the answers
        known = store.query("SELECT n_params FROM models WHERE fingerprint = ?", [info.fingerprint])
        n_params = int(known.iloc[0, 0]) if not known.empty and known.iloc[0, 0] is not None else None
    store.upsert_model(fingerprint=info.fingerprint, name=info.name, source=info.source.spec, kind=info.source.kind,
                       revision=getattr(info, "revision", None), dtype=info.dtype, n_params=n_params,
                       base_model=info.base_name,
                       lineage={"base_fingerprint": info.base_fingerprint, "relation": info.source.kind} if info.base_name else {},
                       identity=info.identity)
    for item in prepared:
        config = {"template": item.task.template, "shots": item.shots, "description": item.task.description,
                  "citation": item.task.citation}
        if item.task.kind == "harness":
            from lmbench.harness.task import harness_config

            config |= harness_config(item)
        store.upsert_task(task_hash=item.task_hash, name=item.task.name, version=item.task.version,
                          family=item.task.family, config=config)


def _group_shots(prepared: list[PreparedTask], groups: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Shots of each group whose members all ran with the same number (a suite mixing shots has none)."""
    shots: dict[str, int] = {p.task.name: p.shots for p in prepared}
    for _ in range(2):  # suites contain groups: a second pass sees the groups' own shots
        for group, members in groups.items():
            values = {shots.get(m) for m in members}
            if len(values) == 1 and None not in values:
                shots[group] = values.pop()
    return {g: shots[g] for g in groups if g in shots}


def _run_config(config: EvalConfig, prepared: list[PreparedTask], key: str,
                groups: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if any(p.task.kind == "generate" for p in prepared):
        from lmbench.engine.reward import PAIR_FORMAT

        extra = {"reward_pair_format": PAIR_FORMAT if config.reward_model else None,
                 "ppl_model_used": config.ppl_model or "the evaluated model"}
    task_shots = {p.task.name: p.shots for p in prepared} | _group_shots(prepared, groups or {})
    return {**asdict(config), "run_key": key, "task_shots": task_shots,
            "n_docs": {p.task.name: len(p.data.docs) for p in prepared}, **extra}
