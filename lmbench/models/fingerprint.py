"""Model fingerprints and file digests.

A model's fingerprint is `fingerprint(identity)`, 16 hex digits of the SHA-256 of its identity record
(`lmbench.models.content_hash.identity_record`): the weights' *content*, the tokenizer, dtype, BOS policy,
maximum length and quantization, with no path and no source kind, so one model has one fingerprint whether
its weights sit in one safetensors file, in shards or in memory. What the weights part holds per format:

- safetensors folders: the layout-independent tensor digest (`content_hash.weights_digest`);
- pickle weights (`*.bin`/`*.pt`, only with --allow-pickle): ``"pickle:"`` + the SHA-256 of the files' bytes;
- a GGUF file: ``"gguf:"`` + the SHA-256 of the file's bytes. transformers dequantizes GGUF to float32 on load,
  so its tensors equal those of the converted folder, but the fingerprint names the bytes it was read from:
  a GGUF file and its converted folder are two models (two rows, two caches).

File digests are memoised on (absolute path, size, mtime_ns), so a second look at a checkpoint costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from lmbench.models.memo import load_memo, save_memo

_CHUNK = 1 << 20
_MEMO = "file_hashes.json"
PICKLE_PATTERNS = ("*.bin", "*.pt")


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


def _relative_keys(files: list[Path], root: Path | None) -> dict[str, Path]:
    resolved = [Path(f).resolve() for f in files]
    if root is None:
        root = Path(os.path.commonpath([p.parent for p in resolved]))
    base = Path(root).resolve()
    keys: dict[str, Path] = {}
    for path in resolved:
        try:
            keys[path.relative_to(base).as_posix()] = path
        except ValueError:
            raise ValueError(f"{path} is not inside the root {base} its digest is keyed by") from None
    return keys


def files_digest(files: Iterable[Path], root: Path | None = None) -> dict[str, str]:
    """Map each file's path relative to `root` (default: the files' common folder) to its SHA-256.

    Keys are relative paths, never bare names: two `test.jsonl` in different subfolders are two entries
    (keyed by name they collapsed into one, so editing one left a task hash unchanged), and moving the whole
    root keeps every key. The memo persists between runs.
    """
    listed = list(files)
    if not listed:
        return {}
    cache = load_memo(_MEMO)
    before = len(cache)
    digests = {key: file_sha256(path, cache) for key, path in sorted(_relative_keys(listed, root).items())}
    if len(cache) != before:
        save_memo(_MEMO, cache)
    return digests


def bytes_digest(files: Iterable[Path], root: Path | None = None) -> str:
    """One SHA-256 over files' relative paths and contents (weights that are not safetensors)."""
    return hashlib.sha256(json.dumps(files_digest(files, root), sort_keys=True).encode()).hexdigest()


def folder_weights(folder: Path, *, safetensors: bool) -> str:
    """The `weights` part of a folder's identity: tensor content (safetensors) or "pickle:" + the files' bytes."""
    from lmbench.models.content_hash import safetensors_digests, weights_digest

    if safetensors:
        return weights_digest(safetensors_digests(sorted(folder.glob("*.safetensors"))))
    pickles = sorted({p for pattern in PICKLE_PATTERNS for p in folder.glob(pattern) if p.is_file()})
    return "pickle:" + bytes_digest(pickles, folder)


def gguf_weights(path: Path) -> str:
    """The `weights` part of a GGUF file's identity: "gguf:" + the SHA-256 of its bytes."""
    return "gguf:" + files_digest([path])[path.name]


def fingerprint(identity: dict[str, object]) -> str:
    """A short stable hash of a JSON-able identity record."""
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
