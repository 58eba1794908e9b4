"""`lmbench runs`, `results`, `compare` and `models`: read the database."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

DbOption = Annotated[Optional[str], typer.Option(envvar="LMBENCH_DB", help="DuckDB results file (default ./lmbench.duckdb).")]
FormatOption = Annotated[str, typer.Option("--format", help="table|csv|json|parquet")]
OutOption = Annotated[Optional[str], typer.Option("--out", help="Write to this file instead of the terminal.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an --out file lmbench did not write.")]


def _db(db: str | None) -> str:
    from lmbench.paths import default_db_path

    return str(db or default_db_path())


ModelOption = Annotated[Optional[str], typer.Option(help="Model name, alias or fingerprint prefix.")]


def runs_command(model: ModelOption = None, db: DbOption = None, fmt: FormatOption = "table", out: OutOption = None,
                 force: ForceOption = False) -> None:
    """List runs: model, status, start, duration, samples, tasks, command.

    A run whose process is gone shows as interrupted: run the same command again to resume it."""
    from lmbench import api
    from lmbench.cli.output import check_emit, emit

    check_emit(fmt, out, inputs=[_db(db)], force=force)
    frame = api.runs(_db(db), model=model)
    emit(frame.drop(columns=["command"]) if fmt == "table" else frame, fmt, out, title="runs", inputs=[_db(db)],
         force=force)


def results_command(model: ModelOption = None,
                    task: Annotated[Optional[str], typer.Option(help="Task or group name.")] = None,
                    run: Annotated[Optional[str], typer.Option(help="Run id (prefix).")] = None,
                    db: DbOption = None, fmt: FormatOption = "table", out: OutOption = None,
                    force: ForceOption = False) -> None:
    """Per-task metrics of every run, filtered by model, task or run."""
    from lmbench import api
    from lmbench.cli.output import check_emit, emit

    check_emit(fmt, out, inputs=[_db(db)], force=force)
    frame = api.results(_db(db), model=model, task=task, run=run)
    if fmt == "table":
        frame = frame[["model", "fingerprint", "dtype", "task", "shots", "metric", "value", "stderr", "n", "run_id"]]
        frame = frame.assign(run_id=frame["run_id"].str[:8])
    emit(frame, fmt, out, title="results", inputs=[_db(db)], force=force)


def compare_command(model_a: Annotated[str, typer.Argument(help="Model name, alias or fingerprint (the baseline).")],
                    model_b: Annotated[str, typer.Argument(help="Model name, alias or fingerprint (the candidate).")],
                    task: Annotated[Optional[str], typer.Option(help="Only this task.")] = None,
                    metric: Annotated[str, typer.Option(help="Per-sample metric to compare.")] = "acc",
                    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 1234,
                    db: DbOption = None, fmt: FormatOption = "table", out: OutOption = None,
                    force: ForceOption = False) -> None:
    """Per task: both scores on the questions both models answered, B - A, paired bootstrap 95% CI and
    p-value, McNemar's exact p-value."""
    from lmbench.cli.output import check_emit, emit
    from lmbench.compare import compare_models, shared_metrics
    from lmbench.errors import ConfigError, StoreError
    from lmbench.store import Store

    if seed < 0:
        raise ConfigError(f"--seed {seed} must be 0 or more")
    check_emit(fmt, out, inputs=[_db(db)], force=force)
    with Store(_db(db), read_only=True) as store:
        fa, fb, frame = compare_models(store, model_a, model_b, task=task, metric=metric, seed=seed)
        others = shared_metrics(store, fa, fb, task=task) if frame.empty else {}
    if others:
        listed = "; ".join(f"{name}: {', '.join(metrics)}" for name, metrics in others.items())  # main() escapes
        raise ConfigError(f"models {fa} and {fb} share questions, but no per-sample {metric!r} on them; "
                          f"they have {listed}; pass --metric NAME")
    if frame.empty:
        raise StoreError(f"models {fa} and {fb} share no scored questions{' on ' + task if task else ''}; "
                         "evaluate both on the same task (same prompts and shots) first")
    emit(frame, fmt, out, title=f"{model_a} ({fa}) vs {model_b} ({fb}): {metric}, B - A", inputs=[_db(db)],
         force=force)


def models_command(model: Annotated[Optional[str], typer.Argument(
                       help="Show this model's ancestry (name, alias or fingerprint prefix) instead of the list.")] = None,
                   db: DbOption = None, fmt: FormatOption = "table", out: OutOption = None,
                   force: ForceOption = False) -> None:
    """List models with their aliases, fingerprint, dtype, parameters and parents; MODEL: its ancestry.

    A model keeps the name it was first evaluated under; later names of the same weights are aliases."""
    from lmbench import api
    from lmbench.cli.output import check_emit, emit

    check_emit(fmt, out, inputs=[_db(db)], force=force)
    if model is None:
        frame = api.models(_db(db))
        if fmt == "table":
            frame = frame[["name", "aliases", "fingerprint", "source", "dtype", "n_params", "parents"]]
        emit(frame, fmt, out, title="models", inputs=[_db(db)], force=force)
        return
    frame = api.lineage(_db(db), model)
    if fmt == "table":
        frame = frame.assign(detail=[_short(d) for d in frame["detail"]])[
            ["depth", "child_name", "child", "relation", "parent_name", "parent", "detail"]]
    emit(frame, fmt, out, title=f"lineage of {model}", inputs=[_db(db)], force=force)


def _short(detail: object, width: int = 60) -> str:
    import json

    text = "" if detail is None else json.dumps(detail, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."
