"""Out-of-memory handling shared by the engines: split the batch in half and retry, down to one row."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import torch

from lmbench.errors import LmbenchError

Item = TypeVar("Item")
Out = TypeVar("Out")


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's RuntimeError."""
    text = str(exc).lower()
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text


def run_halving(batch: list[Item], run: Callable[[list[Item]], list[Out]], *, on_halve: Callable[[int], None],
                too_big: Callable[[Item], str]) -> list[Out]:
    """`run(batch)`; on out-of-memory, `on_halve(new_size)` and retry each half. One row that still does not fit
    is a LmbenchError with the message `too_big(row)`."""
    try:
        return run(batch)
    except (RuntimeError, torch.OutOfMemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if len(batch) == 1:
            raise LmbenchError(too_big(batch[0])) from None
        half = len(batch) // 2
        on_halve(half)
        print(f"lmbench: out of memory at {len(batch)} rows; retrying with {half}", file=sys.stderr)
        return (run_halving(batch[:half], run, on_halve=on_halve, too_big=too_big)
                + run_halving(batch[half:], run, on_halve=on_halve, too_big=too_big))
