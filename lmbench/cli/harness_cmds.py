"""`lmbench import-harness` and `lmbench export-harness`: lm-evaluation-harness output files <-> the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lmbench.cli.store_cmds import DbOption


def import_command(results_json: Annotated[Path, typer.Argument(help="results_<time>.json from lm_eval --output_path.")],
                   samples: Annotated[Optional[list[Path]], typer.Option("--samples", help="samples_<task>_<time>.jsonl files (default: found beside the results file).")] = None,
                   model_name: Annotated[Optional[str], typer.Option("--model-name", help="Name to record the model under.")] = None,
                   db: DbOption = None) -> None:
    """Import an lm-evaluation-harness run (results and --log_samples files) as a run in the database."""
    from lmbench.paths import default_db_path
    from lmbench.store import Store
    from lmbench.store.harness_io import import_harness

    from lmbench.cli.safe_text import visible

    with Store(db or default_db_path()) as store:
        run_id = import_harness(store, results_json, samples, model_name=model_name)
        n = int(store.query("SELECT count(*) FROM samples WHERE run_id = ?", [run_id]).iloc[0, 0])
    typer.echo(visible(f"imported {results_json} as run {run_id} ({n} samples)"))


def export_command(run: Annotated[str, typer.Argument(help="Run id or a unique prefix of it (see `lmbench runs`).")],
                   out: Annotated[Path, typer.Option("--out", help="Folder for results_<run>.json and samples files.")],
                   db: DbOption = None,
                   force: Annotated[bool, typer.Option("--force", help="Write into an --out folder lmbench did not write (its other files are kept).")] = False) -> None:
    """Export a run in lm-evaluation-harness's output layout (results JSON + samples JSONL per task)."""
    from lmbench.cli.safe_text import visible
    from lmbench.outputs import check_folder_target
    from lmbench.paths import default_db_path
    from lmbench.store import Store
    from lmbench.store.harness_io import export_harness
    from lmbench.store.queries import resolve_run

    db_path = Path(db or default_db_path())
    check_folder_target(out, inputs=[db_path], force=force)  # before the database is read
    with Store(db_path, read_only=True) as store:
        paths = export_harness(store, resolve_run(store, run), out, inputs=[db_path], force=force)
    for path in paths:
        typer.echo(visible(path))
