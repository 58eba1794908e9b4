"""Write a DataFrame as a terminal table, CSV, JSON or Parquet (files under lmbench.outputs' policy)."""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from lmbench.cli.safe_text import plain
from lmbench.errors import ConfigError
from lmbench.outputs import check_file_target, write_file

FORMATS = ("table", "csv", "json", "parquet")


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def check_emit(fmt: str, out: str | None, *, inputs: Iterable[str | Path | None] = (), force: bool = False) -> None:
    """Every problem with --format/--out, before the database is read (the database is an input: never --out)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "parquet" and not out:
        raise ConfigError("--format parquet writes a binary file: add --out FILE.parquet")
    if out:
        check_file_target(Path(out), inputs=inputs, force=force)


def emit(frame: pd.DataFrame, fmt: str, out: str | None, title: str | None = None, *,
         inputs: Iterable[str | Path | None] = (), force: bool = False) -> None:
    check_emit(fmt, out, inputs=inputs, force=force)
    if fmt == "table":
        table = Table(title=plain(title) if title else None)
        for column in frame.columns:
            table.add_column(plain(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
        for row in frame.itertuples(index=False):
            table.add_row(*(plain(_cell(v)) for v in row))
        wide = out or not sys.stdout.isatty()  # files and pipes get full rows, not an 80-column squeeze
        if not out:
            Console(file=sys.stdout, width=200 if wide else None).print(table)
            return
        buffer = io.StringIO()
        Console(file=buffer, width=200, color_system=None).print(table)
        write_file(out, buffer.getvalue(), inputs=inputs, force=force)
        return
    if fmt == "parquet":
        write_file(out, lambda tmp: frame.to_parquet(tmp), inputs=inputs, force=force)  # type: ignore[arg-type]
        return
    text = frame.to_csv(index=False) if fmt == "csv" else frame.to_json(orient="records", date_format="iso", indent=1)
    if out:
        write_file(out, text, inputs=inputs, force=force)
    else:
        sys.stdout.write(text)
