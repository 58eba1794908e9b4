"""Model fingerprints: a hash of everything that can change a model's answers.

Weights are identified by the SHA-256 of their files (cached by path, size and
mtime so a 500 MB checkpoint is hashed once) or by a Hub revision; the
tokenizer files, dtype, BOS policy and maximum length are mixed in, so a cached
answer is never reused across any of them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from lmbench.paths import cache_root

_CHUNK = 1 << 20


def _hash_cache_file() -> Path:
    return cache_root() / "file_hashes.json"


def _load_hash_cache() -> dict[str, str]:
    try:
        return json.loads(_hash_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def file_sha256(path: Path, cache: dict[str, str] | None = None) -> str:
    """SHA-256 of a file, memoised on (absolute path, size, mtime_ns)."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if cache is not None and key in cache:
        return cache[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    if cache is not None:
        cache[key] = value
    return value


def files_digest(files: list[Path]) -> dict[str, str]:
    """Map each file's name to its SHA-256, persisting the memo between runs."""
    cache = _load_hash_cache()
    before = len(cache)
    digests = {f.name: file_sha256(f, cache) for f in sorted(files)}
    if len(cache) != before:
        target = _hash_cache_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache))
        tmp.replace(target)
    return digests


def fingerprint(identity: dict[str, object]) -> str:
    """A short stable hash of a JSON-able identity record."""
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
