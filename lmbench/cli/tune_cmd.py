"""`lmbench tune RECIPE|FILE [key=value ...]`, `--list`, `--print`."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer


def tune_command(
    recipe: Annotated[Optional[str], typer.Argument(help="Built-in recipe name (see --list) or a recipe YAML file.")] = None,
    overrides: Annotated[Optional[list[str]], typer.Argument(help="key=value overrides, e.g. data=train.json max_steps=100.")] = None,
    list_recipes: Annotated[bool, typer.Option("--list", help="List the built-in recipes, one line each.")] = False,
    print_config: Annotated[bool, typer.Option("--print", help="Print the resolved config (YAML) and exit.")] = False,
    db: Annotated[Optional[str], typer.Option(envvar="LMBENCH_DB", help="DuckDB results file (default ./lmbench.duckdb).")] = None,
) -> None:
    """Tune a model with a recipe; the candidate goes to output_dir/final and straight back into evaluation."""
    from rich.console import Console
    from rich.markup import escape

    from lmbench.errors import ConfigError
    from lmbench.tuning.registry import list_recipes as builtin_list, load_recipe, run_recipe

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    if list_recipes:
        for name, kind, summary in builtin_list():
            print(f"{name:<12} {summary}" + (f" (kind {kind})" if kind != "lm" else ""))
        return
    if not recipe:
        raise ConfigError("name a recipe (lmbench tune --list shows them) or a recipe YAML file")
    items = list(overrides or [])
    if db and not any(item.startswith("db=") for item in items):
        items.append(f"db={db}")
    config = load_recipe(recipe, items)
    if print_config:
        import yaml

        print(yaml.safe_dump(config.to_dict(), sort_keys=False).rstrip())
        return
    result = run_recipe(config)
    _print_result(console, result)


def _print_result(console: object, result: object) -> None:
    from rich.markup import escape

    curve = getattr(result, "curve", None)
    if curve is not None and not curve.empty:
        from lmbench.tuning.loop import headline

        console.print(frame_table(headline(curve), "benchmark curve over steps (step 0 = base; "
                                  "`lmbench results --model NAME` has every metric)"))
    comparison = getattr(result, "comparison", None)
    if comparison is not None and not comparison.empty:
        console.print(frame_table(comparison, "candidate vs base (paired: diff = candidate - base, 95% CI, p-values)"))
    details = getattr(result, "details", None) or {}
    if details.get("iterations"):  # RAFT / RLOO: one row per iteration (also in train_log, step = iteration)
        import pandas as pd

        rows = pd.DataFrame(details["iterations"])
        names = {"step": "iter", "reward_mean_all": "reward all", "reward_mean_kept": "reward kept",
                 "heldout_reward": "held-out", "n_generated": "sampled", "n_kept": "kept", "n_discarded": "discarded",
                 "train_loss": "loss", "collect_s": "sample s", "train_s": "train s"}
        columns = [c for c in names if c in rows]
        best = details.get("best_iteration")
        held = details.get("heldout_reward") or {}
        start = f"; held-out reward at the start {held[0]:.4g}" if 0 in held else ""
        console.print(frame_table(rows[columns].rename(columns=names),
                                  f"per iteration (final = iteration {best}{start})"))
    timings = ", ".join(f"{k.removesuffix('_s')} {v:.1f}s" for k, v in getattr(result, "timings", {}).items())
    steps = getattr(result, "global_step", None)
    done = f"{steps} steps" if steps is not None else f"{len(details.get('iterations') or [])} iterations"
    console.print(f"trained {done} ({escape(timings)}); training run {getattr(result, 'training_run_id', '')}")
    console.print(f"candidate: {escape(str(result.final_dir))}")
    console.print(f"fingerprint: {result.fingerprint}")


def frame_table(frame: object, title: str) -> object:
    """A rich Table of a DataFrame, every cell escaped (user strings never read as markup)."""
    import math

    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title))
    for column in frame.columns:
        table.add_column(escape(str(column)))
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("-" if math.isnan(value) else f"{value:.4g}")
            else:
                cells.append(escape(str(value)))
        table.add_row(*cells)
    return table
