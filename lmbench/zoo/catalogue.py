"""The zoo catalogue: one JSON entry (plus its card) per published model in a folder (default ./zoo).

An entry records where the files are (`hub`: endpoint, repository and commit; `local`: under
`<zoo>/files/<OWNER--NAME>/`, published with --local and no network), what they are (kind, base and
target fingerprints, the sha256 of every file) and the card's results. `lmbench eval OWNER/NAME --base B`
finds an entry before trying the Hub, so a zoo model is a checkpoint like any other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmbench.models.sources import CheckpointSource
from lmbench.zoo.errors import ZooError
from lmbench.zoo.manifest import write_json_atomic

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_ZOO = "zoo"


def entry_stem(repo: str) -> str:
    return repo.replace("/", "--")


def zoo_dir(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("LMBENCH_ZOO") or DEFAULT_ZOO)


def local_files(folder: Path, repo: str) -> Path:
    return folder / "files" / entry_stem(repo)


def read_entry(folder: Path, repo: str) -> dict[str, Any] | None:
    path = folder / f"{entry_stem(repo)}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise ZooError(f"zoo entry {path} is not valid JSON; restore it from git or publish {repo} again") from None


def write_entry(folder: Path, entry: dict[str, Any], card: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = entry_stem(entry["repo"])
    tmp = folder / f".{stem}.md.{os.getpid()}.tmp"
    tmp.write_text(card)
    os.replace(tmp, folder / f"{stem}.md")
    write_json_atomic(folder / f"{stem}.json", entry)


def entries_frame(folder: Path) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        entry = json.loads(path.read_text())
        rows.append({"repo": entry["repo"], "kind": entry["kind"], "location": entry["location"],
                     "base": entry["base"]["name"], "base_fingerprint": entry["base"]["fingerprint"],
                     "fingerprint": entry["fingerprint"], "revision": (entry.get("revision") or "")[:12],
                     "results": len(entry.get("results", [])), "published_at": entry["published_at"]})
    columns = ["repo", "kind", "location", "base", "base_fingerprint", "fingerprint", "revision", "results",
               "published_at"]
    return pd.DataFrame(rows, columns=columns)


def entry_source(spec: str, base: str | None) -> CheckpointSource | None:
    """The checkpoint a zoo entry name stands for, or None when the zoo has no such entry."""
    folder = zoo_dir()
    if "/" not in spec or spec.count("/") != 1 or read_entry(folder, spec) is None:
        return None
    from lmbench.zoo.publish import fetch_files

    entry = read_entry(folder, spec)
    assert entry is not None
    files = fetch_files(entry, folder)
    if entry["kind"] == "delta":
        from lmbench.zoo.source import delta_source

        return delta_source(spec, files, base)
    from lmbench.models.sources import resolve_source

    return resolve_source(str(files), base=base)
