"""The config of the `lm` recipes: continued pretraining and SFT with full, LoRA, QLoRA, LOMO or AdaLomo tuning."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

from lmbench.tuning.config import RecipeConfig

IDENTITY_DATA = "builtin:identity"
TEMPLATES = ("robin", "chatml", "llama3", "tokenizer", "plain", "hh")


@dataclass
class TuneConfig(RecipeConfig):
    objective: Literal["pretrain", "sft"] = "sft"
    data: list[str] = None  # type: ignore[assignment]  # LMFlow files/folders, or builtin:identity
    weights: Union[list[float], None] = None  # mixture sampling weights, one per data entry
    template: Literal["robin", "chatml", "llama3", "tokenizer", "plain", "hh"] = "robin"
    method: Literal["full", "lora", "qlora", "lomo", "adalomo"] = "full"
    max_steps: Union[int, None] = None  # wins over epochs
    epochs: float = 1.0
    learning_rate: float = 2e-5
    lr_scheduler: str = "linear"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 512  # SFT: longer examples are cut (see truncation)
    truncation: Literal["left", "right"] = "left"  # SFT: left drops the oldest prompt tokens and keeps the reply
    block_size: int = 512  # pretrain: tokens per packed block
    packing: bool = False  # SFT: pack several examples into max_length rows
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: Union[list[str], None] = None  # default: per architecture (peft's table)
    merge: bool = False  # LoRA: save the merged model as final (adapter kept in output_dir/adapter)
    gradient_checkpointing: bool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    save_every: Union[int, None] = None  # steps between checkpoints (default: eval_every, else 500)
    save_total_limit: Union[int, None] = 3  # checkpoints kept (older ones deleted; each was evaluated when saved)
    resume: bool = False
    report_to: str = "none"  # passed to the trainer: none | tensorboard | wandb | ...
    logging_steps: int = 1
    progress: bool = True
    eval_tasks: Union[list[str], None] = None
    eval_every: Union[int, None] = None  # steps; each saved checkpoint is evaluated
    eval_limit: Union[int, None] = None
    eval_sample: Union[int, None] = None
    eval_shots: Union[int, None] = None
    eval_batch_size: str = "auto"
    data_dir: Union[str, None] = None  # benchmark data for eval_tasks (LMBENCH_DATA)
    model_name: str = "lmbench-model"  # identity data: substituted for {model_name}
    maker: str = "the lmbench project"  # identity data: substituted for {maker}
    identity_rows: Union[int, None] = None  # identity data: how many conversations (default: all)

    required_keys: typing.ClassVar[tuple[str, ...]] = ("output_dir", "data")
    non_training_keys: typing.ClassVar[tuple[str, ...]] = (
        "description", "output_dir", "db", "resume", "report_to", "logging_steps", "progress", "eval_tasks",
        "eval_every", "eval_limit", "eval_sample", "eval_shots", "eval_batch_size", "data_dir", "save_total_limit")

    def problems(self) -> list[str]:
        out: list[str] = []
        for entry in self.data or []:
            if entry != IDENTITY_DATA and not Path(entry).expanduser().exists():
                out.append(f"data file {entry!r} does not exist (give an LMFlow .json/.jsonl file or folder, "
                           f"or {IDENTITY_DATA})")
        if self.weights is not None:
            if len(self.weights) != len(self.data or []):
                out.append(f"weights has {len(self.weights)} entries for {len(self.data or [])} data entries; "
                           "give one weight per data entry")
            elif any(w < 0 for w in self.weights) or not any(w > 0 for w in self.weights):
                out.append("weights must be >= 0 with at least one > 0")
        for key in ("batch_size", "grad_accum", "max_length", "block_size", "lora_r", "logging_steps"):
            if getattr(self, key) < 1:
                out.append(f"{key} is {getattr(self, key)}; it must be at least 1")
        for key in ("max_steps", "eval_every", "save_every", "eval_limit", "eval_sample", "identity_rows"):
            value = getattr(self, key)
            if value is not None and value < 1:
                out.append(f"{key} is {value}; it must be at least 1 (or null)")
        if self.max_steps is None and self.epochs <= 0:
            out.append(f"epochs is {self.epochs}; give epochs > 0 or max_steps")
        if self.learning_rate <= 0:
            out.append(f"learning_rate is {self.learning_rate}; it must be > 0")
        if self.eval_every is not None and not self.eval_tasks:
            out.append("eval_every is set but eval_tasks is empty; name the tasks to evaluate (eval_tasks=pubmedqa)")
        if self.lora_targets is not None and self.method not in ("lora", "qlora"):
            out.append(f"lora_targets is set but method is {self.method!r}; use method=lora or qlora")
        if self.merge and self.method not in ("lora", "qlora"):
            out.append(f"merge=true only applies to method=lora or qlora (method is {self.method!r})")
        if self.objective == "pretrain" and self.packing:
            out.append("packing applies to objective=sft (pretraining always packs into block_size blocks)")
        return out

    @property
    def save_steps(self) -> int:
        return self.save_every or self.eval_every or 500
