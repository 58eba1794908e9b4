"""Read CSV / JSON / JSON-lines / YAML files (plain or .gz) with errors that name the file and line.

This is the error boundary for data files: whatever goes wrong below (a truncated or non-gzip .gz, bytes that
are not UTF-8, malformed JSON/CSV/YAML, a folder or an unreadable path) surfaces as one DataError saying which
file, where, and how to fix it; no exception of a reader library escapes.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lmbench.errors import DataError

_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


@contextlib.contextmanager
def file_errors(path: Path, kind: str = "text") -> Iterator[None]:
    """Turn what reading `path` can raise into one DataError naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); re-save the file as UTF-8") from None
    except _GZIP_ERRORS as exc:
        detail = "truncated: it ends early" if isinstance(exc, EOFError) else str(exc) or type(exc).__name__
        raise DataError(f"{path}: not a complete gzip file ({detail}); download or compress it again") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; pass the {kind} file inside it") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}; check the path and its permissions") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with file_errors(path, "JSON-lines"), _open_text(path) as handle:
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
    return rows


def read_json(path: Path) -> Any:
    with file_errors(path, "JSON"):
        with _open_text(path) as handle:
            text = handle.read()
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); fix the JSON syntax") from None


def read_csv_rows(path: Path) -> list[list[str]]:
    """All rows as lists of strings (header included, if any)."""
    with file_errors(path, "CSV"), _open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            return [row for row in reader if row]
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: malformed CSV ({exc}); fix the quoting") from None


def read_yaml(path: Path) -> Any:
    """A YAML document (safe loader: plain data only)."""
    import yaml

    with file_errors(path, "YAML"), _open_text(path) as handle:
        text = handle.read()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataError(f"{path}{where}: not valid YAML ({problem}); fix the syntax") from None
