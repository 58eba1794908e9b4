"""A harness task as lmbench questions: one question per harness document, its requests built by the harness.

`lm_eval:NAME` names a harness task, group or tag (built-in, or from a YAML under --include-path). The
harness builds the task object and every request (prompts, few-shot examples, choices) exactly as
`lm_eval` would; lmbench keeps, per document, the document and its requests' arguments, whose hash is
the cache key, so a changed prompt or data row never reuses an old answer.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lmbench.errors import ConfigError, DataError, LmbenchError, TaskError
from lmbench.harness.local_data import local_overrides
from lmbench.harness.version import check_harness_version
from lmbench.tasks.base import Doc, TaskData
from lmbench.tasks.protocol import PrepareOptions, PreparedTask, ResultRow, SampleRecord, ScoringContext, TaskFamily

if TYPE_CHECKING:
    import pandas as pd

PREFIX = "lm_eval:"
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
# Harness tasks report their own metric names; these are the common ones (what a leaderboard may ask for
# before any result of the task is stored).
HARNESS_METRICS = ("acc", "acc_norm", "mc1", "mc2", "exact_match", "f1", "bleu", "rouge1", "rouge2", "rougeL",
                   "word_perplexity", "byte_perplexity", "bits_per_byte", "perplexity")


@dataclass(frozen=True)
class HarnessTask(TaskFamily):
    """What `--tasks lm_eval:NAME` resolves to; `prepare` expands it into one prepared task per harness task.

    The tasks one spec expands into share a `unit`, so the harness aggregates them (and its groups) together.
    """

    harness_name: str
    fixed_shots: int | None = None  # set by suites (open_llm_v1); else --shots, else the task's own
    family: str = "lm_eval"
    version: str = ""
    template: str = ""
    description: str = ""
    citation: str = ""
    default_shots: int = 0

    metrics: ClassVar[tuple[str, ...]] = HARNESS_METRICS
    group_metrics: ClassVar[tuple[str, ...]] = HARNESS_METRICS

    @property
    def name(self) -> str:
        return PREFIX + self.harness_name

    def build_requests(self, item: PreparedTask, doc: Any, prompt: str) -> list[Any]:
        from lmbench.harness.results import instance_requests

        return instance_requests(item, doc)

    def score(self, item: PreparedTask, docs: list[Any], prompts: list[str], outputs: list[list[Any]],
              ctx: ScoringContext) -> list[SampleRecord]:
        from lmbench.harness.results import harness_records

        return [SampleRecord(**record) for record in harness_records(item, docs, outputs)]

    def aggregate(self, items: list[PreparedTask], samples: pd.DataFrame, seed: int) -> list[ResultRow]:
        from lmbench.harness.results import harness_result_rows

        return [ResultRow(**row) for row in harness_result_rows(items, samples, seed)]

    def task_config(self, item: PreparedTask) -> dict[str, Any]:
        return {**TaskFamily.task_config(self, item), **harness_config(item)}

    def prepare(self, root: Path | None, options: PrepareOptions) -> list[PreparedTask]:
        shots, limit, sample, seed = options.shots, options.limit, options.sample, options.seed
        harness_version = check_harness_version()
        tasks, groups, files = load_harness(self.harness_name, root, options.include_path)
        unit = HarnessUnit(self.name, groups, harness_version)
        prepared = []
        for task in tasks.values():
            _check_supported(task)
            n_shots = _shots(task, self.fixed_shots, shots)
            task.set_config(key="num_fewshot", value=n_shots)
            task.set_fewshot_seed(seed=seed)
            indices = _sample_indices(task, sample, seed)
            try:
                chosen = frozenset(indices) if indices else None  # the harness tests `i in samples` per document
                task.build_all_requests(limit=None if indices else limit, samples=chosen, rank=0, world_size=1)
                docs, prompts, instances = _questions(task, limit, indices)
            except LmbenchError:
                raise
            except Exception as exc:  # templates, few-shot pools, empty splits: the harness raises many kinds
                raise TaskError(f"{PREFIX + task.config.task}: the harness could not build its requests "
                                f"({_reason(exc)}); check the task's YAML and data") from None
            version = str((task.config.metadata or {}).get("version", getattr(task, "VERSION", "")))
            wrapper = HarnessTask(task.config.task, family=f"lm_eval/{task.config.task}", version=version,
                                  template=str(task.config.doc_to_text), description=str(task.config.description or ""),
                                  citation="lm-evaluation-harness (EleutherAI): " + str(task.config.task),
                                  default_shots=n_shots)
            task_hash = _task_hash(task, n_shots, seed, files, harness_version)
            data = TaskData(docs, [], files)
            state = HarnessState(task, instances, unit)
            prepared.append(PreparedTask(wrapper, data, n_shots, task_hash, prompts, state=state, options=options,
                                         unit=self.name))
        return prepared


@dataclass
class HarnessUnit:
    """The tasks one `lm_eval:NAME` expanded into share this: the harness groups to aggregate."""

    spec: str
    groups: dict[str, Any]
    harness_version: str


@dataclass
class HarnessState:
    task: Any  # the harness Task object
    instances: dict[str, list[Any]]  # our doc_id -> the harness Instances of that document, in idx order
    unit: HarnessUnit
    extra: dict[str, Any] = field(default_factory=dict)


def _check_supported(task: Any) -> None:
    name = PREFIX + task.config.task
    if getattr(task, "UNSAFE_CODE", False):
        raise TaskError(f"{name} executes model-written code; lmbench does not run such tasks: use lm_eval with "
                        "--confirm_run_unsafe_code in a sandbox")
    if getattr(task, "MULTIMODAL", False):
        raise TaskError(f"{name} needs images or audio; lmbench scores text-only causal language models")


def _shots(task: Any, fixed: int | None, asked: int | None) -> int:
    own = task.get_config("num_fewshot")
    if fixed is not None:
        return fixed
    if asked is not None and own != 0:  # the harness never overrides a task that fixes 0 shots
        return asked
    return int(own or 0)


def _sample_indices(task: Any, sample: int | None, seed: int) -> list[int] | None:
    if sample is None:
        return None
    n = len(task.eval_docs)
    if sample >= n:
        return None
    return sorted(random.Random(f"{seed}:{task.config.task}").sample(range(n), sample))


def _questions(task: Any, limit: int | None, indices: list[int] | None) -> tuple[list[Doc], list[str], dict]:
    by_position: dict[int, list[Any]] = defaultdict(list)
    for instance in task.instances:
        by_position[instance.doc_id].append(instance)
    docs, prompts, instances = [], [], {}
    chosen = frozenset(indices) if indices else None
    for position, doc in task.doc_iterator(rank=0, limit=None if indices else limit, world_size=1, samples=chosen):
        requests = sorted(by_position[position], key=lambda i: i.idx)
        doc_id = str(indices[position] if indices else position)
        fields = {"doc": json.dumps(doc, sort_keys=True, default=str, ensure_ascii=False),
                  "requests": json.dumps([[r.request_type, list(r.args)] for r in requests], default=str,
                                         ensure_ascii=False)}
        docs.append(Doc(doc_id, fields, (), -1))
        prompts.append(str(requests[0].args[0]) if requests else "")
        instances[doc_id] = requests
    return docs, prompts, instances


def _stable(value: Any) -> Any:
    """A task config as JSON that does not change between processes (functions by name and source hash)."""
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if callable(value):
        try:
            source = inspect.getsource(value)
        except (OSError, TypeError):
            source = ""
        name = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__name__)}"
        return f"{name}:{hashlib.sha256(source.encode()).hexdigest()[:12]}"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return _ADDRESS.sub("", str(value))


def _task_hash(task: Any, shots: int, seed: int, files: list[Path], harness_version: str) -> str:
    """Config (functions by source hash), shots, seed, data file contents and the harness's minor version (its
    metric and filter code). Paths are left out: moving the data or the virtualenv keeps the cache."""
    from lmbench.models.fingerprint import files_digest

    config = _stable(task.dump_config())
    (config.get("metadata") or {}).pop("config_source", None)
    data_files = (config.get("dataset_kwargs") or {}).get("data_files")
    if isinstance(data_files, dict):
        config["dataset_kwargs"]["data_files"] = sorted(data_files)
    identity = {"harness_task": task.config.task, "config": config, "shots": shots, "fewshot_seed": seed,
                "files": sorted(files_digest(files).values()) if files else [],
                "harness": ".".join(harness_version.split(".")[:2])}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


@lru_cache(maxsize=8)
def _manager(include_path: tuple[str, ...], defaults: bool) -> Any:
    import datasets
    from lm_eval.tasks import TaskManager

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    datasets.disable_progress_bars()
    try:
        return TaskManager(include_path=list(include_path) or None, include_defaults=defaults)
    except Exception as exc:  # a broken YAML under --include-path
        raise ConfigError(f"--include-path {', '.join(include_path)}: the harness could not read its task YAMLs "
                          f"({_reason(exc)}); fix the file it names") from None


def find_entry(name: str, include_path: tuple[str, ...]) -> tuple[Any, Any, bool]:
    """(task manager, index entry, whether the manager has the built-in tasks); --include-path is searched
    first, without indexing the harness's 14k built-in tasks (about 7 s), which are indexed only when needed."""
    for path in include_path:
        if not Path(path).is_dir():
            raise ConfigError(f"--include-path {path!r} is not a folder; point it at a folder of harness task YAMLs")
    if include_path:
        manager = _manager(include_path, False)
        if name in manager.task_index:
            return manager, manager.task_index[name], False
    manager = _manager(include_path, True)
    if name in manager.task_index:
        return manager, manager.task_index[name], True
    close = difflib.get_close_matches(name, manager.all_tasks, n=5, cutoff=0.6)
    hint = f"did you mean {', '.join(PREFIX + c for c in close)}?" if close else "list them with `lm-eval ls tasks`"
    where = f" or under --include-path {', '.join(include_path)}" if include_path else ""
    raise TaskError(f"unknown lm-evaluation-harness task {PREFIX + name!r}: not among the {len(manager.all_tasks)} "
                    f"tasks, groups and tags of lm-eval {check_harness_version()}{where}; {hint}")


class _BuildError(Exception):
    def __init__(self, cause: Exception, config: dict[str, Any]) -> None:
        super().__init__(str(cause))
        self.cause, self.config = cause, config


def load_harness(name: str, root: Path | None, include_path: tuple[str, ...]) -> tuple[dict, dict, list[Path]]:
    """The harness's leaf tasks and groups for `name`, each task reading its local data copy when there is one."""
    manager, _, with_defaults = find_entry(name, include_path)
    try:
        return _build(manager, name, root)
    except _BuildError as failure:
        if with_defaults:
            raise _load_error(name, failure.config, root, failure.cause) from None
    try:  # a user's group may list the harness's own tasks: build it again with those indexed
        return _build(_manager(include_path, True), name, root)
    except _BuildError as failure:
        raise _load_error(name, failure.config, root, failure.cause) from None


def _build(manager: Any, name: str, root: Path | None) -> tuple[dict, dict, list[Path]]:
    factory = _local_data_factory(root)
    manager._factory = factory  # every task of a group or tag is built by it, so each finds its own copy
    try:
        loaded = manager.load([name])
    except LmbenchError:
        raise
    except Exception as exc:  # the harness and `datasets` raise many kinds; classified in _load_error
        raise _BuildError(exc, factory.current) from None
    return loaded["tasks"], loaded.get("groups", {}), factory.files


def _local_data_factory(root: Path | None) -> Any:
    """The harness's TaskFactory, pointing each task it builds at DATA/hf/... when that copy exists."""
    from lm_eval.tasks._factory import TaskFactory

    class LocalDataFactory(TaskFactory):
        def __init__(self) -> None:
            super().__init__()
            self.files: list[Path] = []
            self.current: dict[str, Any] = {}  # config of the task being built, for the error message

        def _build_task(self, entry: Any, overrides: dict[str, Any] | None) -> Any:
            self.current = {}
            config = self._load_full_config(entry, overrides)
            self.current = config
            local, files, missing = local_overrides(root, config)
            if files and missing:
                raise DataError(f"{PREFIX + str(config.get('task'))}: the local copy is incomplete: missing "
                                f"{', '.join(missing)}; add those splits (rows as on the Hub) or remove the folder")
            self.files += files
            return super()._build_task(entry, {**(overrides or {}), **local} if local else overrides)

    return LocalDataFactory()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]


def _load_error(name: str, config: dict[str, Any], root: Path | None, exc: Exception) -> LmbenchError:
    """A data problem (no local copy, Hub unreachable) names the files to provide; anything else says what failed."""
    from lmbench.harness.local_data import copy_folder, splits_needed

    task = PREFIX + str(config.get("task") or name)
    part = f" (building {task})" if task != PREFIX + name else ""
    if isinstance(exc, OSError) and config.get("dataset_path") and not callable(config.get("custom_dataset")):
        folder = copy_folder(root or Path("DATA"), config)
        expected = ", ".join(str(folder / f"{s}.jsonl") for s in splits_needed(config))
        how = "" if root else " and pass --data-dir DATA"
        return DataError(f"{PREFIX + name}{part}: cannot load its data {config['dataset_path']}"
                         f"{'/' + config['dataset_name'] if config.get('dataset_name') else ''} ({_reason(exc)}); "
                         f"offline, put a local copy at {expected}{how} (see README, harness tasks)")
    return TaskError(f"{PREFIX + name}{part}: the harness could not build it ({_reason(exc)}); check the task's YAML")


def harness_config(item: Any) -> dict[str, Any]:
    """What the tasks table records for a harness task: the harness's full task config and version."""
    state = item.state
    return {"harness_task": state.task.config.task, "harness_version": state.unit.harness_version,
            "harness_spec": state.unit.spec, "harness_config": _stable(state.task.dump_config())}
