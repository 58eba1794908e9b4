"""The `lm` recipe kind: continued pretraining or SFT, with full, LoRA, QLoRA, LOMO or AdaLomo tuning.

Order of work: recipe checks (preflight, nothing written) -> training run recorded -> data tokenized ->
base evaluated (eval_tasks) -> model loaded -> Trainer (checkpoints evaluated as saved) -> candidate saved
to output_dir/final -> registered with lineage -> evaluated -> paired comparison with the base.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.tuning.lm_config import TuneConfig
from lmbench.tuning.registry import recipe_name, register_recipe


@dataclass
class TuneResult:
    final_dir: Path
    fingerprint: str
    base_fingerprint: str
    training_run_id: str
    global_step: int
    data_stats: dict[str, int]
    history: list[dict[str, Any]] = field(default_factory=list)
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    resumed_from: str | None = None


def build_dataset(config: TuneConfig, tokenizer: Any, rows: list[tuple[str, dict]]) -> tuple[list[dict], dict]:
    """Tokenized training rows of one mixture epoch: packed blocks (pretrain) or masked SFT examples."""
    if config.objective == "pretrain":
        from lmbench.tuning.pretrain_data import pack_documents

        return pack_documents(tokenizer, [inst["text"] for _, inst in rows], config.block_size)
    from lmbench.errors import DataError
    from lmbench.tuning.sft_data import build_sft_rows

    examples, stats = build_sft_rows(tokenizer, rows, config.template, config.max_length, packing=config.packing,
                                     truncation=config.truncation)
    if not examples:
        raise DataError(f"no example keeps a trained token within max_length={config.max_length} "
                        f"({stats['dropped']} cut before their reply); raise max_length "
                        "(`lmbench data check` shows the lengths)")
    return examples, stats


def train_spec(config: TuneConfig, device: str) -> Any:
    from lmbench.tuning.train import OPTIMIZERS, TrainSpec

    return TrainSpec(output_dir=Path(config.output_dir).expanduser(), max_steps=config.max_steps, epochs=config.epochs,
                     learning_rate=config.learning_rate, lr_scheduler=config.lr_scheduler,
                     warmup_steps=config.warmup_steps, weight_decay=config.weight_decay,
                     max_grad_norm=config.max_grad_norm, batch_size=config.batch_size, grad_accum=config.grad_accum,
                     gradient_checkpointing=config.gradient_checkpointing, optim=OPTIMIZERS[config.method],
                     seed=config.seed, save_steps=config.save_steps, save_total_limit=config.save_total_limit,
                     logging_steps=config.logging_steps, report_to=config.report_to, resume=config.resume,
                     progress=config.progress, device=device)


def save_final(model: Any, tokenizer: Any, config: TuneConfig, output_dir: Path) -> Path:
    """output_dir/final: the adapter (lora/qlora; merged model with merge=true) or the whole model."""
    final = output_dir / "final"
    if config.method in ("lora", "qlora") and config.merge:
        model.save_pretrained(output_dir / "adapter")
        merged = model.merge_and_unload()
        merged.save_pretrained(final)
        tokenizer.save_pretrained(final)
    elif config.method in ("lora", "qlora"):
        model.save_pretrained(final)
    else:
        model.save_pretrained(final)
        tokenizer.save_pretrained(final)
    return final


def candidate_info(model: Any, final: Path, config: TuneConfig, base: Any) -> Any:
    """The candidate's identity: its saved folder's (what `lmbench eval final` computes); QLoRA: the 4-bit model."""
    from lmbench.models.loader import inspect_checkpoint

    if config.method == "qlora":
        from lmbench.tuning.model import qlora_identity

        return qlora_identity(model, final, base)
    return inspect_checkpoint(str(final), device=base.device)


def run_lm(config: TuneConfig) -> TuneResult:
    """Run an `lm` recipe end to end (see the module docstring)."""
    from lmbench.paths import default_db_path
    from lmbench.store import Store
    from lmbench.tuning.mixture import mix
    from lmbench.tuning.model import load_for_training, quantization_record
    from lmbench.tuning.outdir import read_marker, write_marker
    from lmbench.tuning.preflight import check
    from lmbench.verbosity import quiet_libraries

    quiet_libraries()
    started = time.perf_counter()
    name = recipe_name(config)
    checked = check(config, name)
    base = checked.base
    assert base is not None  # check() raised otherwise
    output_dir = Path(config.output_dir).expanduser().resolve()
    db = str(Path(config.db).expanduser() if config.db else default_db_path())
    rows, parts = mix(checked.parts, config.seed)
    dataset, stats = build_dataset(config, base.tokenizer, rows)
    mixture = [p.record() for p in parts]
    relation = "pretrain" if config.objective == "pretrain" else "sft"
    quantization = quantization_record(config.method)
    previous = read_marker(output_dir) if config.resume else None
    with Store(db) as store:
        if previous and previous.get("status") == "running" and previous.get("training_run_id"):
            _close_killed(store, previous["training_run_id"])  # a killed run never closed its training run
        for part in parts:
            store.upsert_dataset(content_hash=part.content_hash, name=part.entry, format=part.dataset.type,
                                 rows=len(part.dataset),
                                 path=str(part.dataset.files[0]) if part.dataset.files else None)
        run_id = store.start_training_run(
            recipe=name, config=config.to_dict(), recipe_hash=config.recipe_hash(), base_fingerprint=base.fingerprint,
            output_dir=str(output_dir), seed=config.seed, data_hashes=[p.content_hash for p in parts],
            command=" ".join(["lmbench", *sys.argv[1:]]))
    write_marker(output_dir, {"recipe": name, "recipe_hash": config.recipe_hash(), "config": config.to_dict(),
                              "training_run_id": run_id, "status": "running", "base_fingerprint": base.fingerprint})
    detail = {"recipe": name, "recipe_hash": config.recipe_hash(), "method": config.method,
              "objective": config.objective, "data": mixture, "training_run_id": run_id,
              "template": config.template if config.objective == "sft" else None, "quantization": quantization}
    timings: dict[str, float] = {"prepare_s": time.perf_counter() - started}
    try:
        result = _train_and_evaluate(config, base, checked.lora_targets, dataset, db, run_id, output_dir, relation,
                                     detail, timings, load_for_training)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        with Store(db) as store:
            store.finish_training_run(run_id, status=status, timings=timings,
                                      error=f"{type(exc).__name__}: {exc}"[:500])
        write_marker(output_dir, {"status": status})
        raise
    result.data_stats = stats
    timings["total_s"] = time.perf_counter() - started
    with Store(db) as store:
        store.finish_training_run(run_id, status="done", candidate_fingerprint=result.fingerprint, timings=timings)
    write_marker(output_dir, {"status": "done", "final": str(result.final_dir), "fingerprint": result.fingerprint,
                              "global_step": result.global_step})
    return result


def _close_killed(store: Any, training_run_id: str) -> None:
    runs = store.training_runs()
    row = runs[runs["training_run_id"] == training_run_id]
    if not row.empty and row["status"].iloc[0] == "running":
        store.finish_training_run(training_run_id, status="interrupted", error="killed; resumed by a later run")


def _train_and_evaluate(config: TuneConfig, base: Any, targets: list[str] | None, dataset: list[dict], db: str,
                        run_id: str, output_dir: Path, relation: str, detail: dict,
                        timings: dict[str, float], load_for_training: Any) -> TuneResult:
    from lmbench.store import Store
    from lmbench.tuning.lineage import register_candidate
    from lmbench.tuning.loop import TuneEvaluator
    from lmbench.tuning.train import train

    evaluator = None
    if config.eval_tasks:
        evaluator = TuneEvaluator(config, db, base, output_dir.name, relation, detail)
        t0 = time.perf_counter()
        evaluator.evaluate_base()
        timings["eval_base_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = load_for_training(config, base, targets)
    timings["load_s"] = time.perf_counter() - t0
    n_params = sum(p.numel() for p in model.parameters())
    callbacks = [evaluator.callback()] if evaluator and config.eval_every else []
    outcome = train(model, base.tokenizer, dataset, train_spec(config, base.device), db=db, training_run_id=run_id,
                    callbacks=callbacks)
    timings["train_s"] = outcome.wall_s
    final = save_final(model, base.tokenizer, config, output_dir)
    with Store(db) as store:
        fingerprint = register_candidate(store, candidate_info(model, final, config, base), name=output_dir.name,
                                         base=base, relation=relation, detail={**detail, "step": outcome.global_step},
                                         n_params=n_params)
    result = TuneResult(final, fingerprint, base.fingerprint, run_id, outcome.global_step, {}, outcome.history,
                        timings=timings, resumed_from=outcome.resumed_from)
    if evaluator is not None:
        t0 = time.perf_counter()
        evaluator.evaluate_candidate(model, final, outcome.global_step, output_dir.name)
        timings["eval_final_s"] = time.perf_counter() - t0
        result.curve = evaluator.curve()
        result.comparison = evaluator.compare(base.fingerprint, evaluator.points[-1].fingerprint)
    return result


register_recipe("lm", TuneConfig, run_lm, "continued pretraining or SFT (full, LoRA, QLoRA, LOMO, AdaLomo)")
