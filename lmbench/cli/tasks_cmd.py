"""`lmbench tasks`: list the registered tasks and groups."""

from __future__ import annotations

import typer


def tasks_command() -> None:
    """List built-in tasks and task groups (plus mcq:FILE for your own questions)."""
    from lmbench.tasks import groups, task_names

    for name, members in sorted(groups().items()):
        typer.echo(f"{name:<28} group of {len(members)} tasks")
    for name in task_names():
        typer.echo(name)
    typer.echo("mcq:PATH                     your own questions (JSONL/CSV, see README)")
