"""Write a DataFrame as a terminal table, CSV, JSON or Parquet."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from lmbench.errors import ConfigError

FORMATS = ("table", "csv", "json", "parquet")


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def emit(frame: pd.DataFrame, fmt: str, out: str | None, title: str | None = None) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "parquet" and not out:
        raise ConfigError("--format parquet writes a binary file: add --out FILE.parquet")
    if fmt == "table":
        table = Table(title=title)
        for column in frame.columns:
            table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
        for row in frame.itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        wide = out or not sys.stdout.isatty()  # files and pipes get full rows, not an 80-column squeeze
        Console(file=open(out, "w") if out else sys.stdout, width=200 if wide else None).print(table)
        return
    if fmt == "csv":
        text = frame.to_csv(index=False)
    elif fmt == "json":
        text = frame.to_json(orient="records", date_format="iso", indent=1)
    else:
        frame.to_parquet(Path(out))  # type: ignore[arg-type]
        return
    if out:
        Path(out).write_text(text)
    else:
        sys.stdout.write(text)
