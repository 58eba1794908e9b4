"""Collect every problem of a spec, then fail once: a user fixes a file in one pass, not one error per run."""

from __future__ import annotations

import difflib
import math
from typing import Any

from lmbench.errors import ConfigError


def close_hint(name: str, known: list[str] | tuple[str, ...]) -> str:
    """' (did you mean x, y?)' for near misses, else ''."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


class Problems:
    """Checks that note what is wrong (with where and how to fix it) and return a usable value anyway."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.found: list[str] = []

    def add(self, message: str) -> None:
        self.found.append(message)

    def raise_if_any(self) -> None:
        if self.found:
            count = f"{len(self.found)} problems: " if len(self.found) > 1 else ""
            raise ConfigError(f"leaderboard spec {self.origin}: {count}{'; '.join(self.found)}")

    def keys(self, raw: Any, where: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(raw, dict):
            self.add(f"{where} must be a mapping with {', '.join(required + optional)}; got {_kind(raw)}")
            return {}
        allowed = required + optional
        for key in raw:
            if key not in allowed:
                self.add(f"{where}: unknown key {key!r}{close_hint(str(key), allowed)}; allowed: {', '.join(allowed)}")
        for key in required:
            if raw.get(key) is None:
                self.add(f"{where}: missing `{key}`")
        return raw

    def items(self, raw: Any, where: str, *, empty_ok: bool = False) -> list:
        if not isinstance(raw, list) or (not raw and not empty_ok):
            if raw is not None:  # a missing key is reported by `keys`
                self.add(f"{where} must be a non-empty list; got {_kind(raw)}")
            return []
        return raw

    def mapping(self, raw: Any, where: str) -> dict:
        if not isinstance(raw, dict):
            if raw is not None:
                self.add(f"{where} must be a mapping; got {_kind(raw)}")
            return {}
        return raw

    def text(self, raw: Any, where: str) -> str:
        if raw is not None and (not isinstance(raw, (str, int, float)) or isinstance(raw, bool) or str(raw) == ""):
            self.add(f"{where} must be a non-empty string; got {_kind(raw)}")
        return "" if raw is None else str(raw)

    def number(self, raw: Any, where: str, *, positive: bool = False) -> float:
        ok = isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw)
        if not ok or (positive and raw <= 0):
            self.add(f"{where} must be a {'positive ' if positive else ''}number; got {raw!r}")
            return 1.0
        return float(raw)

    def integer(self, raw: Any, where: str, *, low: int = 0) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < low:
            self.add(f"{where} must be a whole number >= {low}; got {raw!r}")
            return low
        return raw

    def boolean(self, raw: Any, where: str, meaning: str) -> bool:
        if not isinstance(raw, bool):
            self.add(f"{where} must be true or false ({meaning}); got {_kind(raw)}")
            return False
        return raw

    def known_labels(self, given: dict, labels: list[str], where: str) -> None:
        for key in given:
            if key not in labels:
                self.add(f"{where}: {key!r} is not a column of this table{close_hint(str(key), labels)}; "
                         f"columns: {', '.join(labels)}")


def _kind(raw: Any) -> str:
    return "nothing" if raw is None else f"{type(raw).__name__} {raw!r}"[:80]
