"""lmbench: trustworthy, fast language-model evaluation, recorded in DuckDB.

    import lmbench
    plan = lmbench.Plan("mmlu_medical", data_dir="data", limit=20)   # tasks prepared once
    outcome = plan.run("path/to/checkpoint")                         # or plan.run(model, tokenizer=tok)
    outcome = lmbench.evaluate(model, tasks="pubmedqa", tokenizer=tok)

`Plan`, `evaluate` and `EvalOutcome` are imported on first use, so `import lmbench` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["EvalOutcome", "Plan", "evaluate"]

if TYPE_CHECKING:
    from lmbench.api_eval import evaluate
    from lmbench.plan import Plan
    from lmbench.runner import EvalOutcome

_LAZY = {"Plan": "lmbench.plan", "evaluate": "lmbench.api_eval", "EvalOutcome": "lmbench.runner"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lmbench' has no attribute {name!r}")
