"""Stream safetensors files tensor by tensor, without torch: read one tensor's bytes, write one at a time.

safetensors is an 8-byte little-endian header length, a JSON header (name -> dtype, shape, byte range;
optional `__metadata__`) and the tensors' bytes. Reading a tensor is a seek and a read of its range, so
memory holds one tensor; writing lays out the header first (sizes are known in advance) and then appends
each tensor in header order, hashing the file as it goes.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from pathlib import Path
from types import TracebackType
from typing import Any

from lmbench.errors import CheckpointError
from lmbench.models.content_hash import read_safetensors_header
from lmbench.zoo.bits import WIDTH


class SafetensorsReader:
    """Random access to the tensors of one safetensors file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.header, self.start = read_safetensors_header(self.path)
        self.size = self.path.stat().st_size
        self._handle = self.path.open("rb")

    def raw_header(self) -> bytes:
        """The header bytes exactly as stored (JSON with its padding), for a byte-identical copy."""
        self._handle.seek(8)
        return self._handle.read(self.start - 8)

    def order(self) -> list[str]:
        """Tensor names in the order of their bytes in the file."""
        return sorted(self.header, key=lambda n: self.header[n]["data_offsets"][0])

    def read(self, name: str, rows: int | None = None) -> bytearray:
        """The bytes of tensor `name` (only its first `rows` rows along dim 0 when given), in a writable buffer."""
        meta = self.header[name]
        begin, end = meta["data_offsets"]
        if rows is not None:
            row_bytes = WIDTH[meta["dtype"]] * math.prod(meta["shape"][1:])
            end = begin + rows * row_bytes
        self._handle.seek(self.start + begin)
        data = bytearray(end - begin)
        found = self._handle.readinto(data)
        if found != end - begin:
            raise CheckpointError(f"{self.path} is truncated inside tensor {name!r} (expected {end - begin} bytes, "
                                  f"found {found}); re-download or re-create it")
        return data

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> SafetensorsReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def build_header(entries: list[tuple[str, str, list[int]]], metadata: dict[str, str] | None = None) -> bytes:
    """A safetensors header for tensors laid out in the given order (JSON padded with spaces to 8 bytes)."""
    header: dict[str, Any] = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, dtype, shape in entries:
        size = WIDTH[dtype] * math.prod(shape)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    return raw + b" " * (-len(raw) % 8)


class SafetensorsWriter:
    """Write a safetensors file from a header, then each tensor's bytes in header order; hashes the file."""

    def __init__(self, path: Path, header: bytes) -> None:
        self.path = Path(path)
        parsed = json.loads(header)
        parsed.pop("__metadata__", None)
        self._expected = sorted(((m["data_offsets"][0], m["data_offsets"][1], n) for n, m in parsed.items()))
        self._next = 0
        self._offset = 0
        self._sha = hashlib.sha256()
        self._handle = self.path.open("xb")
        self._emit(struct.pack("<Q", len(header)) + header)

    def _emit(self, data: bytes | memoryview) -> None:
        self._handle.write(data)
        self._sha.update(data)

    def write(self, name: str, data: bytes | bytearray | memoryview | list[bytes | bytearray | memoryview]) -> None:
        """Append tensor `name`, given whole or as consecutive parts (no copy is made)."""
        parts = data if isinstance(data, list) else [data]
        size = sum(len(p) for p in parts)
        begin, end, expected = self._expected[self._next]
        if name != expected or size != end - begin:
            raise CheckpointError(f"internal: {self.path.name} expected tensor {expected!r} ({end - begin} bytes) "
                                  f"next, got {name!r} ({size} bytes)")
        if begin > self._offset:  # a gap in the original layout: safetensors files written by libraries have none
            self._emit(b"\0" * (begin - self._offset))
        for part in parts:
            self._emit(part)
        self._offset = end
        self._next += 1

    def close(self) -> str:
        """Finish the file; return its SHA-256."""
        self._handle.close()
        if self._next != len(self._expected):
            missing = self._expected[self._next][2]
            raise CheckpointError(f"internal: {self.path.name} was closed before tensor {missing!r} was written")
        return self._sha.hexdigest()

    def abort(self) -> None:
        self._handle.close()
