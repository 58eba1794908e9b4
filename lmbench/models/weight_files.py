"""Checks of weight files before a library reads them, so a damaged or unsafe file is one CheckpointError."""

from __future__ import annotations

import re
from pathlib import Path

from lmbench.errors import CheckpointError


def check_safetensors(folder: Path) -> None:
    """Every *.safetensors file in `folder` holds all the bytes its header promises (reads headers only)."""
    from lmbench.models.content_hash import read_safetensors_header

    for path in sorted(folder.glob("*.safetensors")):
        header, start = read_safetensors_header(path)
        try:
            end = max((int(meta["data_offsets"][1]) for meta in header.values()), default=0)
        except (KeyError, TypeError, ValueError, IndexError):
            raise CheckpointError(f"{path} is not a readable safetensors file (bad tensor entries in its header); "
                                  "re-save or re-download it") from None
        size = path.stat().st_size
        if start + end > size:
            raise CheckpointError(f"{path} is truncated: its tensors end at byte {start + end} but the file has "
                                  f"{size} bytes; re-save or re-download the checkpoint")


def pickle_refused(exc: BaseException, spec: str) -> CheckpointError:
    """torch.load(weights_only=True) refused a pickle (*.bin) under --allow-pickle: say what it tried to load."""
    found = re.search(r"unsupported GLOBAL (\S+)", str(exc))
    what = f" (it asks to run {found.group(1)})" if found else ""
    return CheckpointError(f"the pickle weights of {spec!r} hold more than plain tensors{what}, so torch refused "
                           "to load them even with --allow-pickle; use a trusted checkpoint or one saved as "
                           "safetensors")


def check_max_length(config: object, max_length: int | None, spec: str) -> None:
    """--max-length no longer than the positions the model has (else an IndexError deep in its forward pass)."""
    if max_length is None:
        return
    cfg = getattr(config, "text_config", None) or config
    limit = next((getattr(cfg, a) for a in ("n_positions", "max_position_embeddings", "n_ctx")
                  if isinstance(getattr(cfg, a, None), int)), None)
    if limit is not None and max_length > limit:
        raise CheckpointError(f"--max-length {max_length} is more than the {limit} positions of {spec!r}; "
                              f"use --max-length {limit} or less")
