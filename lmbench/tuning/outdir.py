"""The output folder of a tuning run: refuse one that holds another run, mark ours with `lmbench_tune.json`.

A folder is usable when it does not exist, is empty, or holds the marker of a run with the same recipe
hash and `resume=true` is given. Anything else (another recipe's run, files lmbench did not write, this
run without resume) is refused before anything is written, with the fix in the message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MARKER = "lmbench_tune.json"


def read_marker(output_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((output_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None


def output_dir_problem(output_dir: Path, recipe_hash: str, resume: bool) -> str | None:
    """Why `output_dir` cannot take this run (None when it can)."""
    if not output_dir.exists():
        return None
    if not output_dir.is_dir():
        return f"output_dir {str(output_dir)!r} is a file; give a folder path"
    if not any(output_dir.iterdir()):
        return None
    marker = read_marker(output_dir)
    if marker is None:
        return (f"output_dir {str(output_dir)!r} is not empty and holds no {MARKER} (not a folder lmbench tune wrote); "
                "choose a new or empty output_dir")
    if marker.get("recipe_hash") != recipe_hash:
        return (f"output_dir {str(output_dir)!r} holds another run (recipe {marker.get('recipe')!r}, hash "
                f"{marker.get('recipe_hash')}, status {marker.get('status')}); choose a new output_dir "
                "(resume=true continues only the same recipe and data)")
    if marker.get("status") == "done":
        return (f"output_dir {str(output_dir)!r} holds this run, finished (candidate {marker.get('final')}, "
                f"fingerprint {marker.get('fingerprint')}); nothing to resume: evaluate it, or choose a new output_dir")
    if not resume:
        return (f"output_dir {str(output_dir)!r} already holds this run (status {marker.get('status')}); "
                "pass resume=true to continue it from its last checkpoint, or choose a new output_dir")
    return None


def write_marker(output_dir: Path, record: dict[str, Any]) -> None:
    """Write (atomically) or update the run marker."""
    output_dir.mkdir(parents=True, exist_ok=True)
    current = read_marker(output_dir) or {}
    tmp = output_dir / f".{MARKER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({**current, **record}, indent=1, default=str) + "\n")
    tmp.replace(output_dir / MARKER)
