"""JSON memo files under the cache root (hash memos keyed on path, size and mtime): they only save time."""

from __future__ import annotations

import json
import os
from typing import Any

from lmbench.paths import cache_root


def load_memo(name: str) -> dict[str, Any]:
    """The memo `name` (a file under the cache root), or an empty one if absent or unreadable."""
    try:
        return json.loads((cache_root() / name).read_text())
    except (OSError, ValueError):
        return {}


def save_memo(name: str, memo: dict[str, Any]) -> None:
    """Write the memo atomically (temporary file, then rename); a failure is ignored: the memo only saves time."""
    target = cache_root() / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo))
        tmp.replace(target)
    except OSError:
        pass
