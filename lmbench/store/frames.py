"""DataFrames in and out of the store: column checks and JSON (de)serialisation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

import pandas as pd

from lmbench.errors import StoreError


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any, what: str) -> str | None:
    """JSON text for a JSON column (None stays NULL); floats keep every bit, NaN/inf allowed."""
    if value is None:
        return None
    try:
        return json.dumps(value, sort_keys=True, default=_default)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot store {what} as JSON: {exc}; pass plain lists, dicts, numbers and strings") from exc


def loads(value: Any) -> Any:
    """Python value of a JSON cell; NULL (None or NaN in pandas) becomes None."""
    return json.loads(value) if isinstance(value, str) else None


def decode(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Parse the JSON text `columns` of a query result into Python objects."""
    for name in columns:
        if name in frame.columns:
            frame[name] = pd.Series([loads(v) for v in frame[name]], index=frame.index, dtype=object)
    return frame


def _cells(series: pd.Series) -> list[Any]:
    """Column values with pandas' missing markers (NaN, NA, NaT) turned into None."""
    return [None if missing(v) else v for v in series.tolist()]


def missing(value: Any) -> bool:
    """True for None and pandas' missing markers (NaN, NA, NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value  # NaN


def prepare(
    frame: pd.DataFrame,
    columns: tuple[tuple[str, ...], tuple[str, ...]],
    key: list[str],
    *,
    json_columns: tuple[str, ...] = (),
    text_columns: tuple[str, ...] = (),
    what: str,
) -> pd.DataFrame:
    """Check `frame`'s columns, fill optional ones, serialise JSON, keep the last row per `key`."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    required, optional = columns
    missing = [c for c in required if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in required + optional]
    if missing or unknown:
        raise ValueError(
            f"{what} DataFrame: missing columns {missing}, unknown columns {unknown}; "
            f"expected {list(required + optional)}"
        )
    out: dict[str, list[Any]] = {}
    for name in required + optional:
        cells = _cells(frame[name]) if name in frame.columns else [None] * len(frame)
        if name in json_columns:
            cells = [dumps(v, f"{what}.{name}") for v in cells]
        elif name in text_columns:
            cells = [None if v is None else str(v) for v in cells]
        out[name] = cells
    for name in key:
        if any(v is None for v in out[name]):
            raise ValueError(f"{what} DataFrame: column {name!r} has missing values; every row needs {key}")
    prepared = pd.DataFrame(out, dtype=object)
    return prepared.drop_duplicates(subset=key, keep="last").reset_index(drop=True)
