"""A plan: tasks prepared once, then any number of models evaluated through them (the tune-then-evaluate loop).

    plan = lmbench.Plan("mmlu_medical,pubmedqa", data_dir="data", limit=50)
    for step in checkpoints:
        outcome = plan.run(step)                        # a folder, .gguf, LoRA adapter or Hub id
    outcome = plan.run(model, tokenizer=tokenizer)      # or a transformers PreTrainedModel in memory

Order of work per model: it is fingerprinted (a checkpoint without loading its weights); questions this
model already answered under the same task hash (in any run) are reused, an unfinished run with the same
plan is resumed, a finished one is shown; only then are weights loaded and the rest scored. Engines are
built per model; the reward and perplexity models of generation tasks once per plan.
"""

from __future__ import annotations

import difflib
import sys
import time
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.errors import ConfigError
from lmbench.paths import default_db_path
from lmbench.provenance import git_sha, library_versions
from lmbench.runner import EvalConfig, EvalOutcome, check_options, run_key
from lmbench.scoring import aggregate
from lmbench.tasks.prepare import prepare
from lmbench.tasks.protocol import PrepareOptions, PreparedTask

_NOT_OPTIONS = ("checkpoint", "tasks")


def config_from_options(tasks: str, options: dict[str, Any]) -> EvalConfig:
    """EvalConfig from keyword options; unknown names are one error listing them with close names."""
    known = [f.name for f in fields(EvalConfig) if f.name not in _NOT_OPTIONS]
    unknown = [k for k in options if k not in known]
    if unknown:
        hints = [f"{k!r}" + (f" (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, known, 1))
                             else "") for k in unknown]
        raise ConfigError(f"unknown evaluation option {', '.join(hints)}; options are {', '.join(known)}")
    if "include_path" in options:
        value = options["include_path"]
        options = {**options, "include_path": (value,) if isinstance(value, (str, Path)) else tuple(value or ())}
    return EvalConfig(tasks=tasks, **options)


def prepare_options(config: EvalConfig) -> PrepareOptions:
    return PrepareOptions(shots=config.shots, limit=config.limit, sample=config.sample, seed=config.seed,
                          nll_prompt=config.nll_prompt, include_path=tuple(config.include_path),
                          temperature=config.temperature, max_new_tokens=config.max_new_tokens,
                          reward_model=config.reward_model, ppl_model=config.ppl_model)


class Plan:
    """Tasks prepared once (data read, prompts built, hashes computed); `run` evaluates one model."""

    def __init__(self, tasks: str = "lmbench_sample", **options: Any) -> None:
        self._init(config_from_options(tasks, options))

    @classmethod
    def from_config(cls, config: EvalConfig) -> Plan:
        plan = cls.__new__(cls)
        plan._init(replace(config, checkpoint=None), command=" ".join(["lmbench", *sys.argv[1:]]))
        return plan

    def _init(self, config: EvalConfig, command: str | None = None) -> None:
        from lmbench.store import Store

        started = time.perf_counter()
        check_options(config)
        self.config = config
        self.command = command or " ".join(["python", *sys.argv])
        self.prepared, self.groups = prepare(config.tasks, prepare_options(config), config.data_dir)
        self.db_path = Path(config.db) if config.db else default_db_path()
        Store(self.db_path).close()  # validate (create or migrate) before the slow part
        self.prepare_s = time.perf_counter() - started
        self.shared: dict[str, Any] = {}  # reward / perplexity models, built once for every run of the plan
        self.runs = 0

    def run(self, model: Any = None, *, tokenizer: Any = None, name: str | None = None,
            progress: bool | None = None) -> EvalOutcome:
        """Evaluate `model`: a checkpoint string (None: the built-in default) or an in-memory causal LM."""
        from lmbench.store import Store
        from lmbench.store.cache import cached_samples, latest_run, reopen_run

        started = time.perf_counter()
        config = self.config if progress is None else replace(self.config, progress=progress)
        info, lm = self._identify(model, tokenizer, name)
        key = run_key(info.fingerprint, self.prepared, config.seed)
        timings = {"prepare_s": self.prepare_s if self.runs == 0 else 0.0,
                   "identify_s": time.perf_counter() - started}
        self.runs += 1
        with Store(self.db_path) as store:
            previous = None if config.force else latest_run(store, key)
            if previous and previous["status"] == "done":
                _register(store, info, None, self.prepared)  # a new folder name of these weights becomes an alias
                return _finished_outcome(store, previous["run_id"], info, self.db_path, timings, self.prepared)
            cache = pd.DataFrame() if config.force else cached_samples(store, info.fingerprint,
                                                                       [p.task_hash for p in self.prepared])
        done = _index(cache)
        pending = [(p, [i for i, d in enumerate(p.data.docs) if (p.task_hash, d.doc_hash) not in done])
                   for p in self.prepared]
        n_pending = sum(len(idx) for _, idx in pending)
        if n_pending and lm is None:
            from lmbench.models.loader import load_weights
            from lmbench.models.reward_loader import is_reward_info, load_reward_weights

            t0 = time.perf_counter()
            lm = load_reward_weights(info) if is_reward_info(info) else load_weights(info)
            timings["load_s"] = time.perf_counter() - t0
        with Store(self.db_path) as store:
            _register(store, info, lm.n_params if lm else None, self.prepared)
            if previous and previous["resumable"]:
                run_id = previous["run_id"]
                reopen_run(store, run_id)
            else:
                run_id = store.start_run(model_fingerprint=info.fingerprint,
                                         config=_run_config(config, info, self.prepared, key, self.groups),
                                         seed=config.seed, device=info.device, versions=library_versions(),
                                         git_sha=git_sha(), command=self.command)
            reused = _copy_cached(store, run_id, self.prepared, done)
        try:
            if n_pending:
                from lmbench.execute import compute

                t1 = time.perf_counter()
                timings.update(compute(lm, config, pending, self.db_path, run_id, self.shared))
                timings["score_s"] = time.perf_counter() - t1
            with Store(self.db_path) as store:
                samples = _run_samples(store, run_id, self.prepared)
                results = aggregate(self.prepared, samples, self.groups, seed=config.seed)
                timings["total_s"] = time.perf_counter() - started
                store.write_results(run_id, results)
                store.finish_run(run_id, status="done", timings=timings)
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            with Store(self.db_path) as store:
                store.finish_run(run_id, status=status, timings=timings, error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        return EvalOutcome(run_id, info.name, info.fingerprint, self.db_path, results, samples, timings, reused,
                           computed=n_pending)

    def _model_kind(self) -> str:
        """'reward' when every task scores a reward model (pairs tasks), else 'causal'; a mix is refused."""
        kinds = {getattr(p.task, "model_kind", "causal") for p in self.prepared}
        if len(kinds) > 1:
            raise ConfigError("pairs tasks evaluate a reward model and the other tasks a causal LM; run them in "
                              "two evals (lmbench eval RM --tasks pairs:FILE, lmbench eval MODEL --tasks ...)")
        return kinds.pop() if kinds else "causal"

    def _identify(self, model: Any, tokenizer: Any, name: str | None) -> tuple[Any, Any]:
        """(identity, loaded model or None): a checkpoint is inspected without its weights; a model in memory
        is wrapped as it is."""
        config = self.config
        if model is None or isinstance(model, (str, Path)):
            from lmbench.models.loader import inspect_checkpoint

            if tokenizer is not None:
                raise ConfigError("tokenizer= is for in-memory models; a checkpoint brings its own tokenizer")
            check_options(replace(config, checkpoint=None if model is None else str(model)))
            if self._model_kind() == "reward":
                from lmbench.models.reward_loader import inspect_reward

                info = inspect_reward(None if model is None else str(model), device=config.device,
                                      max_length=config.max_length)
                if name:
                    info.name = name
                return info, None
            info = inspect_checkpoint(None if model is None else str(model), dtype=config.dtype,
                                      device=config.device, max_length=config.max_length,
                                      trust_remote_code=config.trust_remote_code, allow_pickle=config.allow_pickle,
                                      base=config.base)
            if name:
                info.name = name
            return info, None
        from lmbench.models.in_memory import loaded_from_memory

        lm = loaded_from_memory(model, tokenizer, name=name, max_length=config.max_length)
        return lm.info, lm


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
            # A resumed run already holds its own answers; a question sharing another's content (another id) does not.
            if hit is not None and (hit.get("run_id") != run_id or hit.get("doc_id") != doc.doc_id
                                    or hit.get("task") != item.task.name):
                rows.append({**{k: hit[k] for k in ("task_hash", "doc_hash", "prompt", "target", "prediction",
                                                     "choices", "logprobs", "metrics", "flagged")},
                             "task": item.task.name, "doc_id": doc.doc_id})
    if rows:
        store.write_samples(run_id, pd.DataFrame(rows))
    return len(rows)


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
                       lineage={"base_fingerprint": info.base_fingerprint, "relation": info.source.kind} if info.base_name
                       else {},
                       identity=info.identity)
    for item in prepared:
        store.upsert_task(task_hash=item.task_hash, name=item.task.name, version=item.task.version,
                          family=item.task.family, config=item.task.task_config(item))


def _group_shots(prepared: list[PreparedTask], groups: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Shots of each group whose members all ran with the same number (a suite mixing shots has none)."""
    shots: dict[str, int] = {p.task.name: p.shots for p in prepared}
    for _ in range(2):  # suites contain groups: a second pass sees the groups' own shots
        for group, members in groups.items():
            values = {shots.get(m) for m in members}
            if len(values) == 1 and None not in values:
                shots[group] = values.pop()
    return {g: shots[g] for g in groups if g in shots}


def _run_config(config: EvalConfig, info: Any, prepared: list[PreparedTask], key: str,
                groups: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    notes: dict[str, Any] = {}
    for item in prepared:
        notes.update(item.notes)
    task_shots = {p.task.name: p.shots for p in prepared} | _group_shots(prepared, groups)
    return {**asdict(config), "checkpoint": info.source.spec, "model_source": info.source.kind, "run_key": key,
            "task_shots": task_shots, "n_docs": {p.task.name: len(p.data.docs) for p in prepared}, **notes}
