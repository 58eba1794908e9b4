"""Find benchmark data: --data-dir, then $LMBENCH_DATA; the Hub is tried by the task itself when online.

Under the data folder each benchmark may sit in lmbench's layout or in its official release's layout
(`candidate_layouts`, one list per benchmark); the error for missing files names every layout tried.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lmbench.errors import DataError


def data_root(data_dir: str | Path | None) -> Path | None:
    """The user's data folder, or None when neither --data-dir nor LMBENCH_DATA is set."""
    chosen = data_dir or os.environ.get("LMBENCH_DATA")
    if not chosen:
        return None
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise DataError(f"data folder {str(root)!r} does not exist; fix --data-dir or LMBENCH_DATA")
    return root


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or os.environ.get("HF_DATASETS_OFFLINE", "0") not in ("", "0")


def missing_data(task: str, expected: list[str], hub_reason: str | None = None) -> DataError:
    """The one-line error for a task whose files are absent (and whose Hub copy is unreachable)."""
    where = " or ".join(expected)
    hub = f"; the Hugging Face Hub copy failed too ({hub_reason})" if hub_reason else ""
    return DataError(
        f"no data for task {task!r}: expected {where} under --data-dir (or LMBENCH_DATA){hub}; "
        "point --data-dir at a folder laid out as documented in the README"
    )


@dataclass(frozen=True)
class Layout:
    """Where one release puts a benchmark's files, relative to --data-dir: (role, path) pairs."""

    name: str
    files: tuple[tuple[str, str], ...]
    optional: frozenset[str] = frozenset()  # roles that may be absent (MedQA's dev split)

    def describe(self) -> str:
        return " + ".join(f"{path} (optional)" if role in self.optional else path for role, path in self.files)


def candidate_layouts(benchmark: str, subject: str = "") -> list[Layout]:
    """Every layout `--data-dir` may hold a benchmark in, most specific first: lmbench's own folders,
    then each benchmark's official release as users download it (placed in the benchmark's folder or at
    the data root)."""
    if benchmark == "mmlu":  # lmbench's copy, or data/{dev,test}/ from the original tarball (header-less CSV)
        folders = [("lmbench", "mmlu/"), ("release", "mmlu/data/"), ("release", "data/"), ("release", "")]
        return [Layout(name, (("test", f"{d}test/{subject}_test.csv"), ("dev", f"{d}dev/{subject}_dev.csv")))
                for name, d in folders]
    if benchmark == "medmcqa":  # the release's dev.json is JSON lines too
        return [Layout("lmbench", (("dev", "medmcqa/dev.jsonl"),))] + [
            Layout("release", (("dev", path),)) for path in ("medmcqa/dev.json", "medmcqa/data/dev.json", "dev.json")]
    if benchmark == "pubmedqa":  # the GitHub repository keeps both files in data/
        folders = [("lmbench", "pubmedqa/"), ("release", "pubmedqa/data/"), ("release", "data/")]
        return [Layout(name, (("labelled", f"{d}ori_pqal.json"), ("test_ids", f"{d}test_ground_truth.json")))
                for name, d in folders]
    if benchmark == "medqa":  # data_clean.zip of the release: US English, 4 options
        release = "data_clean/questions/US/4_options/phrases_no_exclude_{split}.jsonl"
        patterns = [("lmbench", "medqa/{split}.jsonl"), ("lmbench", "medqa/phrases_no_exclude_{split}.jsonl"),
                    ("release", "medqa/" + release), ("release", release)]
        return [Layout(name, (("test", p.format(split="test")), ("dev", p.format(split="dev"))), frozenset({"dev"}))
                for name, p in patterns]
    raise ValueError(f"no data layouts known for benchmark {benchmark!r}")


def find_layout(root: Path | None, benchmark: str, subject: str = "") -> dict[str, Path] | None:
    """The files of the first candidate layout present under `root` (role -> path), or None."""
    if root is None:
        return None
    for layout in candidate_layouts(benchmark, subject):
        paths = {role: root / path for role, path in layout.files}
        if all(p.is_file() for role, p in paths.items() if role not in layout.optional):
            return {role: p for role, p in paths.items() if p.is_file()}
    return None


def missing_layout(task: str, benchmark: str, subject: str = "", hub_reason: str | None = None) -> DataError:
    """The missing-data error naming every layout that was tried."""
    return missing_data(task, [layout.describe() for layout in candidate_layouts(benchmark, subject)], hub_reason)
