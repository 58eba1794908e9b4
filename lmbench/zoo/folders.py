"""Where a delta reads and writes: local safetensors model folders, and output folders written atomically.

A model folder is written whole or not at all: built under a temporary name beside it and renamed into
place. Stricter than lmbench/outputs.py's report folders (which may be rewritten): an existing output path
is always refused, and, by the shared policy (`outputs.check_not_input`), so is a path inside an input.
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
    """The non-weight files of a model folder (config, tokenizer, generation config, shard index, ...);
    pickle files (pytorch_model.bin, a Trainer's training_args.bin) and subfolders are left out."""
    return [p for p in sorted(Path(folder).iterdir())
            if p.is_file() and not p.name.startswith(".") and p.suffix not in WEIGHT_SUFFIXES + _PICKLE]


def refuse_existing(out: Path) -> None:
    if out.exists() or out.is_symlink():
        raise ZooError(f"output path {out} already exists; lmbench never writes over it: pick a new --out or "
                       "remove it yourself")


@contextmanager
def atomic_folder(out: Path, inputs: tuple[str | Path | None, ...] = ()) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; rename it to `out` on success, remove it on any failure."""
    from lmbench.outputs import check_not_input

    out = Path(out)
    refuse_existing(out)
    check_not_input(out, inputs)
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
