"""`lmbench.evaluate`: one model through one plan, in one call."""

from __future__ import annotations

from typing import Any

from lmbench.runner import EvalOutcome


def evaluate(model: Any = None, tasks: str = "lmbench_sample", *, tokenizer: Any = None, name: str | None = None,
             **options: Any) -> EvalOutcome:
    """`Plan(tasks, **options).run(model, tokenizer=tokenizer, name=name)`; `model` is a checkpoint string
    (None: the built-in default model) or an in-memory transformers causal LM (then `tokenizer=` too)."""
    from lmbench.models.in_memory import check_causal_model
    from lmbench.plan import Plan, config_from_options

    config_from_options(tasks, options)  # unknown option names fail before anything else
    if model is not None and not isinstance(model, str):
        check_causal_model(model)  # a wrong object fails before the tasks are prepared
        if tokenizer is None:
            from lmbench.errors import ConfigError

            raise ConfigError("an in-memory model needs its tokenizer: pass tokenizer=AutoTokenizer.from_pretrained(...)")
    return Plan(tasks, **options).run(model, tokenizer=tokenizer, name=name)
