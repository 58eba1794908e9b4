"""Entry point: the typer app and the error boundary.

LmbenchError -> one line, exit 2. SIGINT / SIGTERM -> the run in progress is marked `interrupted` (the
runner's KeyboardInterrupt path), one line saying how to resume, exit 130 / 143. Every command is wrapped so
that typer's own handling (KeyboardInterrupt -> a dropped return value, EOFError -> "Aborted") never applies.
"""

from __future__ import annotations

import functools
import importlib
import os
import shlex
import signal
import sys
from collections.abc import Callable
from typing import Any

import click
import typer

from lmbench.errors import Interrupted, LmbenchError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Trustworthy, fast language-model evaluation, recorded in DuckDB.")


class _Stopped(BaseException):
    """A signal ended a command; carried past typer, which would swallow a KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise _Stopped(getattr(exc, "signal", signal.SIGINT)) from exc
        except EOFError as exc:  # a bug, not a Ctrl-D: typer would report it as "Aborted!"
            raise RuntimeError(f"unexpected end of input: {exc}") from exc

    return run


# Command groups: (name, module, typer attribute). A new group is one row here.
SUB_APPS: tuple[tuple[str, str, str], ...] = (
    ("zoo", "lmbench.cli.zoo_cmd", "zoo_app"),
    ("data", "lmbench.cli.data_cmd", "app"),
)


def _register_commands() -> None:
    from lmbench.cli import eval_cmd, generate_cmd, harness_cmds, leaderboard_cmd, store_cmds, tasks_cmd, tune_cmd

    for name, command in (("eval", eval_cmd.eval_command), ("tasks", tasks_cmd.tasks_command),
                          ("generate", generate_cmd.generate_command), ("runs", store_cmds.runs_command),
                          ("results", store_cmds.results_command), ("compare", store_cmds.compare_command),
                          ("models", store_cmds.models_command),
                          ("import-harness", harness_cmds.import_command),
                          ("export-harness", harness_cmds.export_command),
                          ("leaderboard", leaderboard_cmd.leaderboard_command),
                          ("tune", tune_cmd.tune_command)):
        app.command(name)(_guarded(command))
    for name, module, attr in SUB_APPS:
        sub = getattr(importlib.import_module(module), attr)
        for info in sub.registered_commands:
            info.callback = _guarded(info.callback)
        app.add_typer(sub, name=name)


_register_commands()


def _click_types() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(usage errors, exits, aborts) of click and of the click copy newer typer ships as `typer._click`."""
    usage: list[type] = [click.exceptions.ClickException]
    exits: list[type] = [click.exceptions.Exit, typer.Exit]
    aborts: list[type] = [click.exceptions.Abort, typer.Abort]
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        usage.append(vendored.ClickException)
    return tuple(usage), tuple(exits), tuple(aborts)


def _on_signal(signum: int, _frame: Any) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not break the cleanup of the first
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


def _interrupted(signum: int) -> None:
    from lmbench.cli.safe_text import visible

    name = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}.get(signum, f"signal {signum}")
    again = visible(shlex.join(["lmbench", *sys.argv[1:]]), one_line=True)
    print(f"lmbench: interrupted by {name}; what was written is kept (a run in progress is marked "
          f"interrupted); to resume, run the same command: {again}", file=sys.stderr)
    sys.exit(128 + signum)


def _wide_help_in_pipes() -> None:
    """Rich lays help out in 80 columns (cutting words with "…") when stdout is not a terminal: use the
    width of the terminal the pipe starts from, else 120. COLUMNS / TERMINAL_WIDTH, when set, win."""
    if os.environ.get("COLUMNS") or os.environ.get("TERMINAL_WIDTH") or sys.stdout.isatty():
        return
    width = 120
    for stream in (sys.stderr, sys.stdin):
        try:
            width = max(os.get_terminal_size(stream.fileno()).columns, 80)
            break
        except (OSError, ValueError, AttributeError):
            continue
    from typer import rich_utils

    rich_utils.MAX_WIDTH = width


def _damaged_database(exc: BaseException) -> bool:
    """DuckDB's own report of a corrupt file, whichever query met it first (a user's problem, not a bug)."""
    signs = ("Corrupt database file", "Could not read enough bytes from file")  # bad checksum; truncated
    return type(exc).__module__.lstrip("_").startswith("duckdb") and any(s in str(exc) for s in signs)


def main() -> None:
    from lmbench.cli.safe_text import visible

    usage, exits, aborts = _click_types()
    _wide_help_in_pipes()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, _on_signal)
    try:
        code = app(standalone_mode=False)
    except LmbenchError as exc:
        print(visible(f"lmbench: error: {exc}", one_line=True), file=sys.stderr)
        sys.exit(2)
    except usage as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except exits as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except _Stopped as stop:
        _interrupted(stop.signum)
    except KeyboardInterrupt as exc:  # before or after a command ran
        _interrupted(getattr(exc, "signal", signal.SIGINT))
    except aborts:
        print("lmbench: aborted", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        if not _damaged_database(exc):
            raise
        first = visible(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, one_line=True)
        print(f"lmbench: error: the results database (--db) is damaged ({first}); restore it from a backup or "
              "pass --db with another path", file=sys.stderr)
        sys.exit(2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
