"""Entry point: the typer app and the error boundary (LmbenchError -> one line, exit 2)."""

from __future__ import annotations

import sys

import click
import typer

from lmbench.errors import LmbenchError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Trustworthy, fast language-model evaluation, recorded in DuckDB.")


def _register_commands() -> None:
    from lmbench.cli import data_cmd, eval_cmd, generate_cmd, harness_cmds, leaderboard_cmd, store_cmds, tasks_cmd, tune_cmd

    app.command("eval")(eval_cmd.eval_command)
    app.command("tasks")(tasks_cmd.tasks_command)
    app.command("generate")(generate_cmd.generate_command)
    app.command("runs")(store_cmds.runs_command)
    app.command("results")(store_cmds.results_command)
    app.command("compare")(store_cmds.compare_command)
    app.command("import-harness")(harness_cmds.import_command)
    app.command("export-harness")(harness_cmds.export_command)
    app.command("leaderboard")(leaderboard_cmd.leaderboard_command)
    app.command("tune", context_settings={"allow_interspersed_args": True})(tune_cmd.tune_command)
    app.add_typer(data_cmd.app, name="data")


_register_commands()


def _click_types() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(usage errors, exits, aborts) of click and of the click copy newer typer ships as `typer._click`."""
    usage: list[type] = [click.exceptions.ClickException]
    exits: list[type] = [click.exceptions.Exit, typer.Exit]
    aborts: list[type] = [click.exceptions.Abort, typer.Abort, KeyboardInterrupt]
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        usage.append(vendored.ClickException)
    return tuple(usage), tuple(exits), tuple(aborts)


def main() -> None:
    usage, exits, aborts = _click_types()
    try:
        app(standalone_mode=False)
    except LmbenchError as exc:
        print(f"lmbench: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except usage as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except exits as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except aborts:
        print("lmbench: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
