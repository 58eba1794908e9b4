"""Run a transformers `Trainer` (or a TRL trainer) with lmbench's callbacks; never a forked training loop.

`train(model, tokenizer, dataset, spec, ...)` sets up TrainingArguments from a `TrainSpec`, adds the
callbacks (tokens/s, train_log rows to the database, a progress bar, any `callbacks` given), resumes from
the last `checkpoint-N` in `spec.output_dir` when `spec.resume`, and returns a `TrainOutcome`. Align's
RAFT fine-tuning step and its DPO/reward recipes reuse it (`trainer_cls=`, `args_cls=`, `extra_args=`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPTIMIZERS = {"full": "adamw_torch_fused", "lora": "adamw_torch_fused", "qlora": "adamw_torch_fused", "lomo": "lomo",
              "adalomo": "adalomo"}


@dataclass
class TrainSpec:
    output_dir: Path  # checkpoints go to output_dir/checkpoint-N
    max_steps: int | None = None
    epochs: float = 1.0
    learning_rate: float = 2e-5
    lr_scheduler: str = "linear"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    batch_size: int = 4
    grad_accum: int = 1
    gradient_checkpointing: bool = False
    optim: str = "adamw_torch"
    seed: int = 1234
    save_steps: int | None = None  # None: save only at the end
    save_total_limit: int | None = None
    logging_steps: int = 1
    report_to: str = "none"
    resume: bool = False
    progress: bool = True
    device: str = "cpu"


@dataclass
class TrainOutcome:
    global_step: int
    train_loss: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    tokens_seen: int = 0
    resumed_from: str | None = None
    trainer: Any = None  # the Trainer, for callers that need its state or model

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens_seen / self.wall_s if self.wall_s > 0 and self.tokens_seen else None


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest complete checkpoint-N folder, or None. A run killed while saving leaves a folder without
    trainer_state.json (the Trainer writes it after the weights and optimizer): that one is skipped."""
    if not output_dir.is_dir():
        return None
    complete = [p for p in output_dir.glob("checkpoint-*") if p.name.split("-", 1)[1].isdigit()
                and (p / "trainer_state.json").is_file()]
    if not complete:
        return None
    return str(max(complete, key=lambda p: int(p.name.split("-", 1)[1])))


def training_arguments(spec: TrainSpec, args_cls: Any = None, **extra: Any) -> Any:
    """TrainingArguments (or `args_cls`, e.g. trl.DPOConfig) for a spec; `extra` adds or overrides fields."""
    import torch
    from transformers import TrainingArguments

    cls = args_cls or TrainingArguments
    on_gpu = spec.device == "cuda"
    kwargs: dict[str, Any] = dict(
        output_dir=str(spec.output_dir), max_steps=spec.max_steps or -1, num_train_epochs=spec.epochs,
        learning_rate=spec.learning_rate, lr_scheduler_type=spec.lr_scheduler, warmup_steps=spec.warmup_steps,
        weight_decay=spec.weight_decay, max_grad_norm=spec.max_grad_norm,
        per_device_train_batch_size=spec.batch_size, gradient_accumulation_steps=spec.grad_accum,
        optim=spec.optim, seed=spec.seed, data_seed=spec.seed,
        save_strategy="steps" if spec.save_steps else "no", save_steps=spec.save_steps or 500,
        save_total_limit=spec.save_total_limit, logging_steps=spec.logging_steps, logging_first_step=True,
        report_to=spec.report_to, disable_tqdm=True, include_num_input_tokens_seen="non_padding",
        use_cpu=not on_gpu, bf16=bool(on_gpu and torch.cuda.is_bf16_supported()), dataloader_num_workers=0,
        remove_unused_columns=False,
    )
    kwargs.update(checkpointing_arguments(cls, spec.gradient_checkpointing))
    kwargs.update(extra)
    return cls(**kwargs)


def checkpointing_arguments(cls: Any, enabled: bool) -> dict[str, Any]:
    """The activation-checkpointing fields for a TrainingArguments class (transformers 5 renamed
    gradient_checkpointing; the old name warns). TRL's configs default it to True, which costs a second forward
    per step and, in TRL's online trainers, turns the KV cache off while they generate: off unless asked."""
    import inspect

    params = inspect.signature(cls).parameters
    name = "activation_checkpointing" if "activation_checkpointing" in params else "gradient_checkpointing"
    if enabled:
        return {name: True, f"{name}_kwargs": {"use_reentrant": False}}
    return {n: False for n in ("activation_checkpointing", "gradient_checkpointing")
            if n in params and params[n].default}


def train(model: Any, tokenizer: Any, train_dataset: Any, spec: TrainSpec, *, collator: Any = None,
          db: str | None = None, training_run_id: str | None = None, callbacks: list[Any] | tuple = (),
          trainer_cls: Any = None, args_cls: Any = None, extra_args: dict[str, Any] | None = None,
          **trainer_kwargs: Any) -> TrainOutcome:
    """Train with `trainer_cls` (default transformers.Trainer) and lmbench's callbacks; see the module docstring."""
    from transformers import DataCollatorForSeq2Seq, Trainer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from lmbench.tuning.callbacks import ProgressBar, TokensPerSecond, TrainLogToStore

    store_log = TrainLogToStore(db, training_run_id) if db and training_run_id else None
    ours: list[Any] = [TokensPerSecond()]
    if store_log is not None:
        ours.append(store_log)
    if spec.progress:
        ours.append(ProgressBar())
    if collator is None:
        collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100, return_tensors="pt")
    cls = trainer_cls or Trainer
    trainer = cls(model=model, args=training_arguments(spec, args_cls, **(extra_args or {})),
                  train_dataset=train_dataset, data_collator=collator, processing_class=tokenizer,
                  callbacks=ours + list(callbacks), **trainer_kwargs)
    for default in (PrinterCallback, ProgressCallback):  # our ProgressBar replaces them
        trainer.remove_callback(default)
    resume_from = last_checkpoint(spec.output_dir) if spec.resume else None
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume_from)
    wall = time.perf_counter() - started
    history = store_log.history if store_log is not None else [
        {"step": r.get("step"), **{k: r[k] for k in ("loss", "learning_rate", "grad_norm", "tokens_per_s") if k in r}}
        for r in trainer.state.log_history if "loss" in r]
    return TrainOutcome(global_step=trainer.state.global_step, train_loss=getattr(result, "training_loss", None),
                        history=history, wall_s=wall, tokens_seen=int(trainer.state.num_input_tokens_seen or 0),
                        resumed_from=resume_from, trainer=trainer)
