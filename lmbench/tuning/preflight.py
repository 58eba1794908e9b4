"""Checks of an `lm` recipe that need the tokenizer or the data, run before any weights load (all at once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmbench.errors import LmbenchError
from lmbench.models.loader import ModelIdentity
from lmbench.tuning.config import RecipeError, join_problems
from lmbench.tuning.lm_config import TuneConfig
from lmbench.tuning.mixture import Part, load_parts
from lmbench.tuning.outdir import output_dir_problem


@dataclass
class Checked:
    base: ModelIdentity | None
    parts: list[Part]
    lora_targets: list[str] | None
    problems: list[str] = field(default_factory=list)


def _template_problem(config: TuneConfig, parts: list[Part], tokenizer: Any) -> str | None:
    from lmbench.tuning.sft_data import instance_input, segments_for

    for part in parts:
        try:
            segments_for(instance_input(part.dataset.type, part.dataset.instances[0]), config.template, tokenizer)
        except LmbenchError as exc:
            return f"template {config.template!r} cannot format data {part.entry!r}: {exc}"
    return None


def check(config: TuneConfig, name: str) -> Checked:
    """Every problem of the recipe that can be found without loading weights; RecipeError listing them all."""
    from lmbench.models.loader import inspect_checkpoint
    from lmbench.tuning.model import bitsandbytes_problem, default_lora_targets, model_type_of

    problems: list[str] = []
    base = None
    try:
        base = inspect_checkpoint(config.model, dtype=config.dtype, device=config.device)
    except LmbenchError as exc:
        problems.append(f"model: {exc}")
    parts, data_problems = load_parts(config)
    problems += data_problems
    targets = config.lora_targets
    if base is not None:
        if config.objective == "sft" and parts:
            problem = _template_problem(config, parts, base.tokenizer)
            if problem:
                problems.append(problem)
        if config.method in ("lora", "qlora") and not targets:
            model_type = model_type_of(base)
            targets = default_lora_targets(model_type)
            if not targets:
                problems.append(f"no default LoRA targets for model type {model_type!r}; name the modules with "
                                "lora_targets=q_proj,v_proj")
        if config.method == "adalomo" and base.device != "cuda":
            problems.append("method=adalomo: lomo-optim's AdaLomo keeps its state on CUDA (it calls .cuda()), so it "
                            f"cannot run on {base.device}; use method=lomo here, or a CUDA device")
        if config.method == "qlora":
            problem = bitsandbytes_problem(base.device)
            if problem:
                problems.append(problem)
    output_dir = Path(config.output_dir).expanduser()
    problem = output_dir_problem(output_dir, config.recipe_hash(), config.resume)
    if problem:
        problems.append(problem)
    try:  # never train into the base model's folder, a data folder or the database
        from lmbench.outputs import check_not_input

        check_not_input(output_dir, [base.folder if base else None, config.db, *[p.entry for p in parts]],
                        flag="output_dir")
    except LmbenchError as exc:
        problems.append(str(exc))
    if config.eval_tasks:
        try:
            from lmbench.tasks.prepare import prepare_tasks

            prepare_tasks(",".join(config.eval_tasks), shots=config.eval_shots, limit=config.eval_limit,
                          data_dir=config.data_dir, sample=config.eval_sample, seed=config.seed)
        except LmbenchError as exc:
            problems.append(f"eval_tasks: {exc}")
    if problems:
        raise RecipeError(join_problems(f"recipe {name}", problems))
    return Checked(base, parts, targets)
