"""Read CSV / JSON / JSON-lines files with errors that name the file and line."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

from lmbench.errors import DataError


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number}: not valid JSON ({exc.msg}); each line must be one JSON object") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{number}: expected a JSON object per line, got {type(row).__name__}")
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); re-save the file as UTF-8") from None
    return rows


def read_json(path: Path) -> Any:
    try:
        with _open_text(path) as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason}); re-save the file as UTF-8") from None


def read_csv_rows(path: Path) -> list[list[str]]:
    """All rows as lists of strings (header included, if any)."""
    try:
        with _open_text(path) as handle:
            return [row for row in csv.reader(handle) if row]
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason}); re-save the file as UTF-8") from None
