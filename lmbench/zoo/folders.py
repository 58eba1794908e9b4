"""Where a delta reads and writes: local safetensors model folders, and output folders written atomically.

lmbench/outputs.py (the shared output-path policy) was not on main when the zoo was written: an output
folder here is built under a temporary name beside it and renamed into place, and an existing output
path is refused, so a failure leaves nothing at the output path.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lmbench.zoo.errors import ZooError

WEIGHT_SUFFIXES = (".safetensors",)
_PICKLE = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def model_folder(spec: str, role: str) -> Path:
    """A local Hugging Face folder with safetensors weights (or the built-in default) for `role`."""
    from lmbench.models.sources import resolve_source

    source = resolve_source(spec)
    if source.kind == "default":
        from lmbench.models.default_model import default_model_dir

        return default_model_dir()
    if source.kind != "hf_dir" or source.path is None:
        raise ZooError(f"{role} {spec!r} is a {source.kind} checkpoint; deltas are made from and applied to local "
                       "model folders with safetensors weights (save it with save_pretrained first)")
    if not shards(source.path):
        raise ZooError(f"{role} {spec!r} has no *.safetensors weights; convert it to safetensors first")
    return source.path


def shards(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.safetensors") if p.is_file())


def side_files(folder: Path) -> list[Path]:
    """The non-weight files of a model folder (config, tokenizer, generation config, shard index, ...)."""
    files = []
    for path in sorted(Path(folder).iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix in _PICKLE:
            raise ZooError(f"{path} is a pickle weight file; lmbench deltas carry safetensors only: convert it")
        if path.suffix not in WEIGHT_SUFFIXES:
            files.append(path)
    return files


def refuse_existing(out: Path) -> None:
    if out.exists() or out.is_symlink():
        raise ZooError(f"output path {out} already exists; lmbench never writes over it: pick a new --out or "
                       "remove it yourself")


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; rename it to `out` on success, remove it on any failure."""
    out = Path(out)
    refuse_existing(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        refuse_existing(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
