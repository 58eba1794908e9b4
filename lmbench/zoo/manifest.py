"""The delta manifest (`zoo_delta.json`): what a delta was made from and what it recovers, tensor by tensor.

Top-level keys: `format` ("lmbench-delta"), `version`, `method`, `created_by`, `base` and `target`
(fingerprint, weights digest, name; the base's per-tensor digests; the target's shards with their exact
headers and file SHA-256s, and its non-weight files), `tensors` (target tensor -> dtype, shape, sha256,
shard, op, and the delta / whole-row tensors that rebuild it with their sha256) and `delta_files`.
Ops: `same` (the base's tensor unchanged), `diff` (wrapping bit-pattern difference against the base's
tensor, cast to the target dtype first when they differ; `base_rows` < the target's rows means the rows
after them were added, e.g. by vocabulary extension, and are stored whole in `rows`), `whole` (no usable
base tensor: stored as is).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lmbench.zoo.errors import ZooError

MANIFEST = "zoo_delta.json"
TARGET_FILES = "target"  # subfolder with the target's config and tokenizer files
FORMAT = "lmbench-delta"
VERSION = 1
METHOD = ("per tensor: target bits - base bits modulo 2^width (wrapping integer difference of the bit patterns, "
          "stored as I64/I32/I16/I8), base cast to the target dtype first if they differ; rows beyond the base's "
          "stored whole; recovery adds them back and checks each tensor's sha256 (lmbench/zoo/bits.py)")
_REQUIRED = ("format", "version", "base", "target", "tensors", "delta_files")


def is_delta_folder(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def load_manifest(folder: Path) -> dict[str, Any]:
    """Read and check a delta manifest; a truncated or foreign file is a one-line ZooError."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ZooError(f"{folder} holds no {MANIFEST}; it is not an lmbench delta (make one with "
                       "`lmbench zoo make-delta --base B --target T --out D`)")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ZooError(f"delta manifest {path} is not valid JSON ({str(exc).splitlines()[0][:80]}): it is truncated "
                       "or damaged; download or copy the delta again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ZooError(f"{path} is not an lmbench delta manifest (format {FORMAT!r} expected)")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ZooError(f"delta manifest {path} lacks {', '.join(missing)}: it is incomplete; copy the delta again")
    if int(data["version"]) > VERSION:
        raise ZooError(f"delta manifest {path} has version {data['version']}, newer than this lmbench reads "
                       f"({VERSION}); upgrade lmbench")
    return data


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON next to its final place, then rename it there."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
