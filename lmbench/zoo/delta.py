"""`make_delta(base, target, out)`: an exact, verifiable delta, streamed tensor by tensor.

One delta shard per target shard, holding for each target tensor what `manifest.py` calls its op's
tensors; the plan (which op, which shapes) comes from the per-tensor digests before any tensor is read,
so each delta shard's header is written first and its tensors appended one at a time.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path
from typing import Any

from lmbench.models.content_hash import TensorDigest, safetensors_digests, weights_digest
from lmbench.zoo import bits
from lmbench.zoo.folders import atomic_folder, model_folder, shards, side_files
from lmbench.zoo.manifest import FORMAT, MANIFEST, METHOD, TARGET_FILES, VERSION, file_sha256, write_json_atomic
from lmbench.zoo.tensorio import SafetensorsReader, SafetensorsWriter, build_header

ROWS_SUFFIX = "::rows"


def plan_tensor(name: str, target: TensorDigest, base: TensorDigest | None) -> dict[str, Any]:
    """How to store one target tensor given the base's tensor of the same name (if any)."""
    entry: dict[str, Any] = {**target.as_json(), "op": "whole", "base_dtype": None, "base_rows": None}
    if base is None:
        return entry
    if (base.dtype, base.shape, base.sha256) == (target.dtype, target.shape, target.sha256):
        return {**entry, "op": "same", "base_dtype": base.dtype}
    same_rank = len(base.shape) == len(target.shape) and base.shape[1:] == target.shape[1:]
    if not bits.castable(base.dtype, target.dtype) or not same_rank:
        return entry
    rows = None
    if target.shape and base.shape[0] != target.shape[0]:
        rows = min(base.shape[0], target.shape[0])  # vocabulary extended (or cut): diff the shared rows
        if rows == 0:
            return entry
    return {**entry, "op": "diff", "base_dtype": base.dtype, "base_rows": rows}


def _stored(name: str, entry: dict[str, Any]) -> list[tuple[str, str, list[int]]]:
    """The tensors a delta shard holds for one target tensor: (name, dtype, shape)."""
    shape = list(entry["shape"])
    if entry["op"] == "whole":
        return [(name, entry["dtype"], shape)]
    if entry["op"] == "same":
        return []
    rows = entry["base_rows"]
    delta_shape = [rows, *shape[1:]] if rows is not None else shape
    out = [(name, bits.DELTA_DTYPE[bits.WIDTH[entry["dtype"]]], delta_shape)]
    if rows is not None and shape[0] > rows:
        out.append((name + ROWS_SUFFIX, entry["dtype"], [shape[0] - rows, *shape[1:]]))
    return out


def _delta_bytes(name: str, entry: dict[str, Any], target: SafetensorsReader,
                 base: SafetensorsReader | None) -> dict[str, bytes | memoryview]:
    raw = target.read(name)
    if entry["op"] == "whole":
        return {name: raw}
    assert base is not None  # plan_tensor only diffs tensors the base has
    rows = entry["base_rows"]
    base_bits = bits.cast_bits(bits.as_uint(base.read(name, rows=rows), entry["base_dtype"]),
                               entry["base_dtype"], entry["dtype"])
    target_bits = bits.as_uint(raw, entry["dtype"])
    out: dict[str, bytes | memoryview] = {name: bits.as_bytes(bits.wrapping_diff(target_bits[:base_bits.size], base_bits))}
    if rows is not None and entry["shape"][0] > rows:
        out[name + ROWS_SUFFIX] = memoryview(raw)[base_bits.size * bits.WIDTH[entry["dtype"]]:]
    return out


def make_delta(base: str, target: str, out: Path, *, progress: bool = False) -> dict[str, Any]:
    """Write the delta that turns `base` into `target` at `out` (atomically); return its manifest."""
    from lmbench import __version__
    from lmbench.models.loader import inspect_checkpoint

    base_dir, target_dir = model_folder(base, "base"), model_folder(target, "target")
    base_digests = safetensors_digests(shards(base_dir))
    target_digests = safetensors_digests(shards(target_dir))
    base_fp = inspect_checkpoint(str(base_dir)).fingerprint
    target_fp = inspect_checkpoint(str(target_dir)).fingerprint
    base_readers: dict[str, SafetensorsReader] = {}
    where = {}
    for path in shards(base_dir):
        reader = SafetensorsReader(path)
        base_readers[path.name] = reader
        where |= {n: reader for n in reader.header}
    tensors: dict[str, dict[str, Any]] = {}
    target_shards: dict[str, dict[str, Any]] = {}
    delta_files: dict[str, str] = {}
    target_paths = shards(target_dir)
    try:
        with atomic_folder(Path(out), inputs=(base_dir, target_dir)) as tmp:
            for index, path in enumerate(target_paths, 1):
                with SafetensorsReader(path) as reader:
                    order = reader.order()
                    target_shards[path.name] = {"header": reader.raw_header().decode("utf-8"),
                                                "sha256": file_sha256(path), "tensors": order,
                                                "contiguous": _contiguous(reader)}
                    plan = {n: plan_tensor(n, target_digests[n], base_digests.get(n)) for n in order}
                    stored = [s for n in order for s in _stored(n, plan[n])]
                    delta_name = f"delta-{index:05d}-of-{len(target_paths):05d}.safetensors"
                    writer = SafetensorsWriter(tmp / delta_name, build_header(stored, {"format": "lmbench-delta"})) \
                        if stored else None
                    for name in order:
                        entry = plan[name]
                        entry["shard"], entry["delta"] = path.name, []
                        if entry["op"] == "same":
                            tensors[name] = entry
                            continue
                        for key, data in _delta_bytes(name, entry, reader, where.get(name)).items():
                            assert writer is not None
                            writer.write(key, data)
                            entry["delta"].append({"file": delta_name, "name": key,
                                                   "sha256": hashlib.sha256(data).hexdigest()})
                        tensors[name] = entry
                        if progress:
                            print(f"lmbench: delta {name}", flush=True)
                    if writer is not None:
                        delta_files[delta_name] = writer.close()
            (tmp / TARGET_FILES).mkdir()
            copied = {}
            for side in side_files(target_dir):
                shutil.copy2(side, tmp / TARGET_FILES / side.name)
                copied[side.name] = file_sha256(side)
            manifest = {
                "format": FORMAT, "version": VERSION, "method": METHOD, "created_by": f"lmbench {__version__}",
                "base": {"fingerprint": base_fp, "weights_digest": weights_digest(base_digests), "name": base_dir.name,
                         "tensors": {n: d.as_json() for n, d in sorted(base_digests.items())}},
                "target": {"fingerprint": target_fp, "weights_digest": weights_digest(target_digests),
                           "name": target_dir.name, "shards": target_shards, "files": copied},
                "tensors": dict(sorted(tensors.items())), "delta_files": delta_files,
                "sizes": {"target_bytes": sum(p.stat().st_size for p in target_paths),
                          "delta_bytes": sum((tmp / f).stat().st_size for f in delta_files)},
            }
            write_json_atomic(tmp / MANIFEST, manifest)
    finally:
        for reader in base_readers.values():
            reader.close()
    return manifest


def _contiguous(reader: SafetensorsReader) -> bool:
    end = 0
    for name in reader.order():
        begin, stop = reader.header[name]["data_offsets"]
        if begin != end:
            return False
        end = stop
    return reader.start + end == reader.size


def tensor_nbytes(entry: dict[str, Any]) -> int:
    return bits.WIDTH[entry["dtype"]] * math.prod(entry["shape"])
