"""Where lmbench keeps files outside the project: caches and the default database."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "lmbench.duckdb"


def cache_root() -> Path:
    """`$LMBENCH_CACHE`, else `~/.cache/lmbench`."""
    return Path(os.environ.get("LMBENCH_CACHE") or Path.home() / ".cache" / "lmbench")


def default_db_path() -> Path:
    """`$LMBENCH_DB`, else `./lmbench.duckdb`."""
    return Path(os.environ.get("LMBENCH_DB") or DEFAULT_DB)
