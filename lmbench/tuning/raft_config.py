"""The `raft` recipe's keys (see lmbench/tuning/raft.py for what each step does)."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from lmbench.tuning.config import RecipeConfig

DEFAULT_STOP = ["\n\nHuman:", "###Human:"]


@dataclass
class RaftConfig(RecipeConfig):
    kind: str = "raft"
    reward_model: str = ""  # sequence-classification folder with one output, or python:MODULE:FUNCTION
    data: str = ""  # prompts: conversation / text2text / paired LMFlow data
    eval_data: Union[str, None] = None  # held-out prompts for heldout_reward and early_stop
    eval_prompts: int = 32
    iterations: int = 3
    k: int = 4
    strategy: Literal["local", "top"] = "local"
    top_fraction: float = 0.25
    prompts_per_iteration: int = 32
    temperature: float = 0.85
    top_p: float = 1.0
    min_new_tokens: int = 16
    max_new_tokens: int = 48
    stop: list[str] = field(default_factory=lambda: list(DEFAULT_STOP))
    discard_substrings: list[str] = field(default_factory=lambda: ["#"])
    learning_rate: float = 2e-5
    epochs: float = 1.0
    batch_size: int = 8
    grad_accum: int = 1
    optimizer_state: Literal["carry", "reset"] = "carry"
    eval_tasks: Union[str, None] = None
    eval_limit: Union[int, None] = None
    early_stop: bool = True
    device: str = "auto"
    gen_batch_size: str = "auto"

    required_keys: typing.ClassVar[tuple[str, ...]] = ("output_dir", "reward_model", "data")
    non_training_keys: typing.ClassVar[tuple[str, ...]] = ("description", "output_dir", "db", "eval_tasks",
                                                           "eval_limit", "gen_batch_size")

    def problems(self) -> list[str]:
        out = []
        if self.strategy == "local" and self.k < 2:
            out.append(f"k={self.k} with strategy=local leaves nothing to rank (best of one); use k >= 2, "
                       "or strategy=top")
        if self.k < 1:
            out.append(f"k={self.k}; expected an integer >= 1")
        if not 0 < self.top_fraction <= 1:
            out.append(f"top_fraction={self.top_fraction}; expected a number in (0, 1]")
        if not 1 <= self.min_new_tokens <= self.max_new_tokens:
            out.append(f"min_new_tokens={self.min_new_tokens}, max_new_tokens={self.max_new_tokens}; expected "
                       "1 <= min_new_tokens <= max_new_tokens")
        if self.iterations < 1 or self.prompts_per_iteration < 1:
            out.append("iterations and prompts_per_iteration must be >= 1")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            out.append("temperature must be > 0 and top_p in (0, 1]")
        for key in ("data", "eval_data"):
            value = getattr(self, key)
            if value and not Path(value).expanduser().exists():
                out.append(f"{key} {value!r} does not exist; give an LMFlow dataset file or folder")
        if self.reward_model:
            from lmbench.engine.reward import reward_spec_problem

            problem = reward_spec_problem(self.reward_model)
            if problem:
                out.append(problem)
        if self.early_stop and not self.eval_data:
            out.append("early_stop=true needs eval_data (held-out prompts to rank the iterations by); "
                       "give eval_data or set early_stop=false")
        return out
