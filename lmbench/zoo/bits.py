"""Bit-exact tensor arithmetic: deltas as wrapping differences of integer bit patterns.

For a target tensor t and a base tensor b of the same dtype and width w (bytes per element), the delta is
d = uint_w(t) - uint_w(b) mod 2^w*8, and recovery is uint_w(b) + d mod 2^w*8 = uint_w(t): an identity of
modular arithmetic, so every bit pattern (NaN payloads, -0.0, subnormals) comes back unchanged for
float32, bfloat16, float16 or any other dtype. Floating-point subtraction (FastChat's and LMFlow's
`target - base` in bfloat16) rounds and does not invert. The delta is stored as the signed integer type
of the same width (I32 for F32, I16 for BF16/F16), whose two's-complement bytes are the same.

When base and target dtypes differ (a float32 base, a bfloat16 fine-tune), the base is first cast to the
target's dtype by the deterministic functions below (numpy integer ops, IEEE round-to-nearest-even); the
same function runs when the delta is made and when it is applied, and every recovered tensor's SHA-256 is
checked, so the cast never needs to match torch's.
"""

from __future__ import annotations

import numpy as np

# safetensors dtype -> bytes per element
WIDTH = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4, "I16": 2,
         "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
_UINT = {8: np.dtype("<u8"), 4: np.dtype("<u4"), 2: np.dtype("<u2"), 1: np.dtype("u1")}
DELTA_DTYPE = {8: "I64", 4: "I32", 2: "I16", 1: "I8"}  # stored type of a delta of each width
CASTABLE = ("F64", "F32", "F16", "BF16")


def as_uint(raw: bytes | memoryview | np.ndarray, dtype: str) -> np.ndarray:
    """The little-endian bytes of a tensor viewed as unsigned integers of its width (no copy)."""
    return np.frombuffer(raw, dtype=_UINT[WIDTH[dtype]])


def as_bytes(values: np.ndarray) -> memoryview:
    """A flat byte view of an array (len() counts bytes), for writing and hashing."""
    return memoryview(np.ascontiguousarray(values).view(np.uint8)).cast("B")


def wrapping_diff(target: np.ndarray, base: np.ndarray) -> np.ndarray:
    """target - base modulo 2^bits, elementwise (numpy unsigned arithmetic wraps)."""
    return np.subtract(target, base, dtype=target.dtype)


def wrapping_add(base: np.ndarray, delta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """base + delta modulo 2^bits: the inverse of `wrapping_diff` (in place when `out` is `base`)."""
    return np.add(base, delta, out=out, dtype=base.dtype)


def _to_f32(bits: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "F32":
        return bits.view("<f4")
    if dtype == "BF16":
        return (bits.astype("<u4") << 16).view("<f4")  # exact: bfloat16 is the top half of a float32
    if dtype == "F16":
        return bits.view("<f2").astype("<f4")  # exact
    with np.errstate(over="ignore", invalid="ignore"):
        return bits.view("<f8").astype("<f4")  # F64: round to nearest even


def _f32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, round to nearest even; NaNs stay (quiet) NaNs."""
    u = values.view("<u4")
    rounded = ((u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)).astype("<u2")
    nan = np.isnan(values)
    if nan.any():
        rounded[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x40)).astype("<u2")
    return rounded


def cast_bits(bits: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Bit patterns of a tensor of dtype `src` cast to dtype `dst` (both in CASTABLE), deterministically."""
    if src == dst:
        return bits
    values = _to_f32(bits, src)
    with np.errstate(over="ignore", invalid="ignore"):
        if dst == "F32":
            return np.ascontiguousarray(values, dtype="<f4").view("<u4")
        if dst == "BF16":
            return _f32_to_bf16_bits(np.ascontiguousarray(values, dtype="<f4"))
        if dst == "F16":
            return values.astype("<f2").view("<u2")
        return values.astype("<f8").view("<u8")  # F64 from a narrower float: exact


def castable(src: str, dst: str) -> bool:
    return src == dst or (src in CASTABLE and dst in CASTABLE)
