"""Entry point: the typer app and the error boundary (LmbenchError -> one line, exit 2)."""

from __future__ import annotations

import sys

import click
import typer

from lmbench.errors import LmbenchError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Trustworthy, fast language-model evaluation, recorded in DuckDB.")


def _register_commands() -> None:
    from lmbench.cli import eval_cmd, generate_cmd, harness_cmds, store_cmds, tasks_cmd

    app.command("eval")(eval_cmd.eval_command)
    app.command("tasks")(tasks_cmd.tasks_command)
    app.command("generate")(generate_cmd.generate_command)
    app.command("runs")(store_cmds.runs_command)
    app.command("results")(store_cmds.results_command)
    app.command("compare")(store_cmds.compare_command)
    app.command("import-harness")(harness_cmds.import_command)
    app.command("export-harness")(harness_cmds.export_command)


_register_commands()


def main() -> None:
    try:
        app(standalone_mode=False)
    except LmbenchError as exc:
        print(f"lmbench: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("lmbench: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
