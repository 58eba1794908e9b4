"""What the alignment recipes write: checkpoints (safetensors), models with lineage, training runs and logs.

Shared by `reward`, `raft`, `dpo` and the online baseline. A checkpoint is fingerprinted by the loader
the evaluation uses (`inspect_checkpoint`), so `lmbench eval output_dir/iter-2` finds the same model.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.paths import default_db_path


@dataclass
class AlignResult:
    """What an alignment recipe returns (the CLI prints final_dir and fingerprint); `details[key]` via []."""

    final_dir: Path
    fingerprint: str
    training_run_id: str
    timings: dict[str, float] = field(default_factory=dict)
    global_step: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.details[key]


def check_output_dir(config: Any) -> Path:
    """The output folder, refused (RecipeError, nothing written) when it holds another run or foreign files."""
    from lmbench.tuning.config import RecipeError
    from lmbench.tuning.outdir import output_dir_problem

    out = Path(config.output_dir).expanduser()
    problem = output_dir_problem(out, config.recipe_hash(), False)
    if problem:
        raise RecipeError(problem)
    return out


def save_checkpoint(model: Any, tokenizer: Any, folder: Path) -> Path:
    """save_pretrained (safetensors) of model and tokenizer into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def data_hash(path: str | Path) -> str:
    from lmbench.models.fingerprint import files_digest

    root = Path(path).expanduser()
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    return hashlib.sha256(json.dumps(files_digest(files), sort_keys=True).encode()).hexdigest()[:16]


def register_folder(store: Any, folder: Path, *, parent: str | None, relation: str, detail: dict[str, Any],
                    kind: str = "causal") -> str:
    """Fingerprint a saved checkpoint, upsert it as a model and add its lineage edge; its fingerprint."""
    if kind == "reward":
        from lmbench.models.reward_loader import reward_identity_record

        identity = reward_identity_record(folder)
        from lmbench.models.fingerprint import fingerprint

        fp, name, dtype = fingerprint(identity), folder.name, "float32"
    else:
        from lmbench.models.loader import inspect_checkpoint

        info = inspect_checkpoint(str(folder), dtype="float32", device="cpu")
        fp, name, dtype, identity = info.fingerprint, info.name, info.dtype, info.identity
    label = folder.parent.name if folder.name == "final" else f"{folder.parent.name}/{folder.name}"
    store.upsert_model(fingerprint=fp, name=label, source=str(folder), kind=kind,
                       revision=None, dtype=dtype, n_params=None, identity=identity)
    if parent is not None and parent != fp:  # an iteration that kept nothing leaves the weights as they were
        store.add_lineage(fp, parent, relation, detail)
    return fp


class Recorder:
    """One training run of an alignment recipe in the database (base registered first)."""

    def __init__(self, config: Any, loaded: Any = None, *, relation: str = "raft", base: str | None = None) -> None:
        """`loaded`: the causal base as loaded (registered here), or `base`: a fingerprint already registered."""
        from lmbench.store import Store

        self.config, self.relation = config, relation
        self.db = Path(config.db).expanduser() if config.db else default_db_path()
        with Store(self.db) as store:
            if loaded is not None:
                store.upsert_model(fingerprint=loaded.fingerprint, name=loaded.name, source=loaded.info.source.spec,
                                   kind=loaded.info.source.kind, revision=None, dtype=loaded.dtype,
                                   n_params=loaded.n_params, identity=loaded.info.identity)
                base = loaded.fingerprint
            self.base = base
            hashes = [data_hash(p) for p in (config.data, getattr(config, "eval_data", None)) if p]
            self.run_id = store.start_training_run(
                recipe=config.kind, config=config.to_dict(), recipe_hash=config.recipe_hash(),
                base_fingerprint=base, output_dir=str(config.output_dir), seed=config.seed,
                data_hashes=hashes, command=" ".join(["lmbench", *sys.argv[1:]]))
        self.data_hashes = hashes
        from lmbench.tuning.outdir import write_marker

        self.out = Path(config.output_dir).expanduser()
        write_marker(self.out, {"recipe": config.kind, "recipe_hash": config.recipe_hash(), "config": config.to_dict(),
                                "status": "running", "training_run_id": self.run_id})

    @contextmanager
    def running(self) -> Iterator[None]:
        """Marks the training run failed / interrupted (database and marker) when the body raises."""
        try:
            yield
        except BaseException as exc:
            from lmbench.store import Store
            from lmbench.tuning.outdir import write_marker

            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            with Store(self.db) as store:
                store.finish_training_run(self.run_id, status=status, error=f"{type(exc).__name__}: {exc}"[:500])
            write_marker(self.out, {"status": status})
            raise

    def register(self, folder: Path, *, parent: str, iteration: int | None = None, kind: str = "causal",
                 **detail: Any) -> str:
        from lmbench.store import Store

        full = {"recipe": self.config.kind, "recipe_hash": self.config.recipe_hash(), "data_hashes": self.data_hashes,
                "training_run_id": self.run_id, **({"iteration": iteration} if iteration is not None else {}), **detail}
        with Store(self.db) as store:
            return register_folder(store, folder, parent=parent, relation=self.relation, detail=full, kind=kind)

    def log(self, row: dict[str, Any]) -> None:
        from lmbench.store import Store

        with Store(self.db) as store:
            store.log_train(self.run_id, pd.DataFrame([row]))

    def log_rows(self, rows: pd.DataFrame) -> None:
        from lmbench.store import Store

        with Store(self.db) as store:
            store.log_train(self.run_id, rows)

    def evaluate(self, folder: Path, iteration: int) -> list[str]:
        """Run `eval_tasks` on a checkpoint through lmbench's evaluation (same database); the run ids."""
        from lmbench.runner import EvalConfig, evaluate

        reward = getattr(self.config, "reward_model", None) or ""
        outcome = evaluate(EvalConfig(checkpoint=str(folder), tasks=self.config.eval_tasks, limit=self.config.eval_limit,
                                      db=str(self.db), seed=self.config.seed, progress=False,
                                      reward_model=reward if reward and not reward.startswith("python:") else None))
        return [outcome.run_id]

    def finish(self, summary: dict[str, Any], status: str = "done") -> AlignResult:
        from lmbench.store import Store
        from lmbench.tuning.outdir import write_marker

        with Store(self.db) as store:
            store.finish_training_run(self.run_id, status=status, candidate_fingerprint=summary.get("fingerprint"),
                                      timings={"wall_s": summary.get("wall_s"), "summary": {
                                          k: v for k, v in summary.items() if k != "iterations"}})
        write_marker(self.out, {"status": status, "final": summary.get("final"), "fingerprint": summary.get("fingerprint")})
        return AlignResult(final_dir=Path(summary["final"]), fingerprint=summary.get("fingerprint") or "",
                           training_run_id=self.run_id, timings={"wall_s": float(summary.get("wall_s") or 0.0)},
                           global_step=summary.get("global_step"), details=summary)
