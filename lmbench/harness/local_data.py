"""Local copies of the Hub datasets harness tasks read, for machines without the Hub.

A harness task names its data as `dataset_path` (+ `dataset_name`) and splits. A local copy lives at

    DATA/hf/<dataset_path>/<dataset_name or "default">/<split>.jsonl   (or .parquet)

e.g. `DATA/hf/allenai/ai2_arc/ARC-Challenge/test.jsonl`, with the rows of the Hub split unchanged
(`datasets.load_dataset(path, name)[split].to_json(file)` on a machine with a network writes one).
When every split the task's config names is there, the task reads those files (`json` / `parquet`
loader) instead of the Hub; a partial copy is an error, never a silent change of split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPLIT_KEYS = ("test_split", "validation_split", "training_split", "fewshot_split")
SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}


def copy_folder(root: Path, config: dict[str, Any]) -> Path:
    return root / "hf" / str(config["dataset_path"]) / str(config.get("dataset_name") or "default")


def splits_needed(config: dict[str, Any]) -> list[str]:
    return sorted({str(config[k]) for k in SPLIT_KEYS if config.get(k)})


def _split_file(folder: Path, split: str) -> Path | None:
    for suffix in SUFFIXES:
        if (folder / f"{split}{suffix}").is_file():
            return folder / f"{split}{suffix}"
    return None


def local_overrides(root: Path | None, config: dict[str, Any]) -> tuple[dict[str, Any], list[Path], list[str]]:
    """(config overrides pointing at the local files, the files, the expected paths that are missing).

    No overrides when there is no copy at all (the task then reads the Hub); a partial copy lists
    what is missing so the caller can fail with it.
    """
    if root is None or not config.get("dataset_path") or callable(config.get("custom_dataset")):
        return {}, [], []
    folder = copy_folder(root, config)
    found = {split: _split_file(folder, split) for split in splits_needed(config)}
    files = [f for f in found.values() if f is not None]
    if not files:
        return {}, [], [str(folder / f"{s}.jsonl") for s in found]
    missing = [str(folder / f"{s}.jsonl") for s, f in found.items() if f is None]
    loaders = {SUFFIXES[f.suffix] for f in files}
    if missing or len(loaders) > 1:
        return {}, files, missing or [f"one format for all splits in {folder} (found {sorted(loaders)})"]
    kwargs = {k: v for k, v in (config.get("dataset_kwargs") or {}).items() if k not in ("trust_remote_code", "name")}
    kwargs["data_files"] = {split: str(path) for split, path in found.items()}
    return {"dataset_path": loaders.pop(), "dataset_name": None, "dataset_kwargs": kwargs}, files, []
