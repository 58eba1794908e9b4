"""Find benchmark data: --data-dir, then $LMBENCH_DATA; the Hub is tried by the task itself when online."""

from __future__ import annotations

import os
from pathlib import Path

from lmbench.errors import DataError


def data_root(data_dir: str | Path | None) -> Path | None:
    """The user's data folder, or None when neither --data-dir nor LMBENCH_DATA is set."""
    chosen = data_dir or os.environ.get("LMBENCH_DATA")
    if not chosen:
        return None
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise DataError(f"data folder {str(root)!r} does not exist; fix --data-dir or LMBENCH_DATA")
    return root


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or os.environ.get("HF_DATASETS_OFFLINE", "0") not in ("", "0")


def missing_data(task: str, expected: list[str], hub_reason: str | None = None) -> DataError:
    """The one-line error for a task whose files are absent (and whose Hub copy is unreachable)."""
    where = " or ".join(expected)
    hub = f"; the Hugging Face Hub copy failed too ({hub_reason})" if hub_reason else ""
    return DataError(
        f"no data for task {task!r}: expected {where} under --data-dir (or LMBENCH_DATA){hub}; "
        "point --data-dir at a folder laid out as documented in the README"
    )
