"""`apply_delta(base, delta, out)`: recover the target exactly, or refuse before writing anything.

Order: the manifest is read and checked; the base's per-tensor digests (memoised, torch-free) are compared
with the manifest's and the first mismatching tensor is named; then each target shard is rebuilt with its
original header bytes, tensor by tensor (base tensor + delta, whole rows appended), each recovered
tensor's SHA-256 checked before it is written, each file's SHA-256 checked when it is complete; the
folder appears at `out` only when all of it is right.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from lmbench.errors import CheckpointError
from lmbench.models.content_hash import safetensors_digests
from lmbench.zoo import bits
from lmbench.zoo.errors import ZooError
from lmbench.zoo.folders import atomic_folder, model_folder, refuse_existing, shards
from lmbench.zoo.manifest import TARGET_FILES, file_sha256, load_manifest
from lmbench.zoo.tensorio import SafetensorsReader, SafetensorsWriter


def check_base(manifest: dict[str, Any], base_dir: Path) -> None:
    """Refuse a base whose tensors differ from the ones the delta was made against (first difference named)."""
    expected = manifest["base"]["tensors"]
    found = {n: d.as_json() for n, d in safetensors_digests(shards(base_dir)).items()}
    want_fp = manifest["base"]["fingerprint"]
    for name in sorted(set(expected) | set(found)):
        if expected.get(name) == found.get(name):
            continue
        if name not in found:
            what = "is missing"
        elif name not in expected:
            what = "is not in the delta's base"
        elif (found[name]["dtype"], found[name]["shape"]) != (expected[name]["dtype"], expected[name]["shape"]):
            what = (f"is {found[name]['dtype']} {found[name]['shape']}, the delta's base has "
                    f"{expected[name]['dtype']} {expected[name]['shape']}")
        else:
            what = f"has sha256 {found[name]['sha256'][:12]}, the delta's base {expected[name]['sha256'][:12]}"
        raise ZooError(f"wrong base {base_dir}: tensor {name!r} {what}; this delta needs the base model "
                       f"{manifest['base']['name']!r} (fingerprint {want_fp})")


class _Delta:
    """Verified reads of the delta's stored tensors."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder, self.readers = folder, {}
        for name in manifest["delta_files"]:
            path = folder / name
            if not path.is_file():
                raise ZooError(f"delta shard {path} is missing; copy or download the whole delta folder again")
            try:
                self.readers[name] = SafetensorsReader(path)
            except CheckpointError as exc:
                raise ZooError(f"delta shard {path} is corrupted ({exc}); download it again") from None

    def read(self, ref: dict[str, Any]) -> bytes:
        reader = self.readers.get(ref["file"])
        if reader is None or ref["name"] not in reader.header:
            raise ZooError(f"delta shard {self.folder / ref['file']} lacks tensor {ref['name']!r}: it is corrupted "
                           "or from another delta; download it again")
        try:
            data = reader.read(ref["name"])
        except CheckpointError as exc:
            raise ZooError(f"delta shard {reader.path} is corrupted: {exc}") from None
        if hashlib.sha256(data).hexdigest() != ref["sha256"]:
            raise ZooError(f"delta shard {reader.path} is corrupted: tensor {ref['name']!r} does not match its "
                           "sha256 in the manifest; download the delta again")
        return data

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()


def _recover(name: str, entry: dict[str, Any], delta: _Delta, base: dict[str, SafetensorsReader]) -> list[Any]:
    """The recovered tensor's bytes as consecutive parts; the sum is done in place in the base's buffer."""
    refs = entry["delta"]
    if entry["op"] == "whole":
        return [delta.read(refs[0])]
    base_raw = base[name].read(name, rows=entry["base_rows"])
    if entry["op"] == "same":
        return [base_raw]
    base_bits = bits.cast_bits(bits.as_uint(base_raw, entry["base_dtype"]), entry["base_dtype"], entry["dtype"])
    if not base_bits.flags.writeable:
        base_bits = base_bits.copy()
    diff = bits.as_uint(delta.read(refs[0]), entry["dtype"])
    recovered = bits.wrapping_add(base_bits, diff, out=base_bits)
    del diff
    return [bits.as_bytes(recovered)] + ([delta.read(refs[1])] if len(refs) > 1 else [])


def apply_delta(base: str, delta: Path, out: Path, *, progress: bool = False) -> dict[str, Any]:
    """Recover the delta's target from `base` into `out`; return the manifest."""
    delta = Path(delta)
    manifest = load_manifest(delta)
    out = Path(out)
    refuse_existing(out)
    base_dir = model_folder(base, "base")
    check_base(manifest, base_dir)
    readers = {}
    for path in shards(base_dir):
        reader = SafetensorsReader(path)
        readers |= {n: reader for n in reader.header}
    stored = _Delta(delta, manifest)
    try:
        with atomic_folder(out, inputs=(base_dir, delta)) as tmp:
            for shard, info in manifest["target"]["shards"].items():
                writer = SafetensorsWriter(tmp / shard, info["header"].encode("utf-8"))
                try:
                    for name in info["tensors"]:
                        entry = manifest["tensors"][name]
                        data = _recover(name, entry, stored, readers)
                        digest = hashlib.sha256()
                        for part in data:
                            digest.update(part)
                        if digest.hexdigest() != entry["sha256"]:
                            raise ZooError(f"recovered tensor {name!r} does not match the target's sha256; the base "
                                           "or the delta changed while reading: run apply-delta again")
                        writer.write(name, data)
                        if progress:
                            print(f"lmbench: recovered {name}", flush=True)
                except BaseException:
                    writer.abort()
                    raise
                digest = writer.close()
                if info.get("contiguous") and digest != info["sha256"]:
                    raise ZooError(f"recovered file {shard} differs from the target's ({digest[:12]} vs "
                                   f"{info['sha256'][:12]}); report this with the delta's manifest")
            for name, sha in manifest["target"]["files"].items():
                source = delta / TARGET_FILES / name
                if not source.is_file() or file_sha256(source) != sha:
                    raise ZooError(f"delta file {TARGET_FILES}/{name} is missing or corrupted; copy the delta again")
                shutil.copy2(source, tmp / name)
    finally:
        stored.close()
        for reader in set(readers.values()):
            reader.close()
    return manifest
