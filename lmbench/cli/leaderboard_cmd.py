"""`lmbench leaderboard SPEC`: the database as the tables a team shares (Markdown, HTML page, PNG charts)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lmbench.cli.store_cmds import DbOption


def leaderboard_command(
    spec: Annotated[Optional[str], typer.Argument(help="Built-in spec name (--list) or a spec YAML path.")] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Folder for README.md, index.html, plots/*.png.")] = None,
    db: DbOption = None,
    list_specs: Annotated[bool, typer.Option("--list", help="List the built-in specs and exit.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Write into an --out folder lmbench did not write (its other files are kept).")] = False,
) -> None:
    """Build a leaderboard from the results database (Markdown, HTML page, PNG charts).

    The spec's tables with 95% CIs, significance against each candidate's base, reported reference rows, lineage
    and the run and command behind every number. Without --out the Markdown goes to stdout.
    """
    from lmbench.errors import ConfigError
    from lmbench.leaderboards.spec import SPEC_DIR, builtin_names, load_spec

    if list_specs:
        for name in builtin_names():
            typer.echo(f"{name:<14} {SPEC_DIR / (name + '.yaml')}")
        return
    if not spec:
        raise ConfigError("no spec given; pass a built-in name (one of "
                          f"{', '.join(builtin_names())}) or a path to a spec YAML")
    parsed = load_spec(spec)  # every spec problem is reported before the database is opened

    from lmbench.leaderboards.render_markdown import render_markdown
    from lmbench.leaderboards.report import build_report
    from lmbench.outputs import check_folder_target
    from lmbench.paths import default_db_path
    from lmbench.store import Store

    db_path = Path(db or default_db_path())
    inputs = [db_path, Path(spec) if Path(spec).is_file() else None]
    if out is not None:
        check_folder_target(Path(out), inputs=inputs, force=force)  # before the (slow) report is built
    with Store(db_path, read_only=True) as store:
        report = build_report(store, parsed, command=" ".join(["lmbench", *sys.argv[1:]]))
    from lmbench.cli.safe_text import visible

    for note in report.notes:
        print(visible(f"lmbench: note: {note}", one_line=True), file=sys.stderr)
    if out is None:
        sys.stdout.write(render_markdown(report, {}))
        return
    from lmbench.leaderboards.write import write_report

    files = write_report(report, Path(out), inputs=inputs, force=force)
    typer.echo(visible(f"wrote {files[0]}, {files[1]} and {len(files) - 2} charts"))
