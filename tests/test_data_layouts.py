"""--data-dir finds each benchmark in its official release layout too, and loads the same questions.

Release layouts are built in tmp_path from ../shared/data (symlinks, or the MMLU CSVs rewritten the way the
original tarball has them: no header, letter answers); MedQA, absent from ../shared/data, from synthetic rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lmbench.data.locate import candidate_layouts
from lmbench.errors import DataError
from lmbench.tasks.prepare import prepare_tasks


def _load(task: str, root: Path, shots: int | None = None):
    prepared, _ = prepare_tasks(task, shots=shots, limit=None, data_dir=str(root))
    p = prepared[0]
    return [d.doc_hash for d in p.data.docs], p.prompts, [d.gold for d in p.data.docs], p.data.files


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


@pytest.mark.parametrize("folder", ["data", "mmlu/data", "."])
def test_mmlu_original_tarball_layout(shared_data, tmp_path, folder):
    for split in ("dev", "test"):  # header `question,choice0..3,answer` (0-3) -> header-less, letters
        rows = list(csv.reader((shared_data / f"mmlu/{split}/anatomy_{split}.csv").open(newline="")))[1:]
        out = tmp_path / folder / split / f"anatomy_{split}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as handle:
            csv.writer(handle).writerows([*row[:5], "ABCD"[int(row[5])]] for row in rows)
    ours = _load("mmlu_anatomy", shared_data)
    release = _load("mmlu_anatomy", tmp_path)
    assert len(release[0]) == 135 and release[:3] == ours[:3], "same questions, shots, prompts and answers"
    assert release[3] == [tmp_path / folder / "test/anatomy_test.csv", tmp_path / folder / "dev/anatomy_dev.csv"]


@pytest.mark.parametrize("name", ["medmcqa/dev.json", "dev.json"])
def test_medmcqa_release_dev_json(shared_data, tmp_path, name):
    _link(shared_data / "medmcqa/dev.jsonl", tmp_path / name)  # the release's dev.json is JSON lines
    release, ours = _load("medmcqa", tmp_path), _load("medmcqa", shared_data)
    assert len(release[0]) == 4183 and release[:3] == ours[:3]


@pytest.mark.parametrize("folder", ["data", "pubmedqa/data"])
def test_pubmedqa_repository_layout(shared_data, tmp_path, folder):
    for name in ("ori_pqal.json", "test_ground_truth.json"):
        _link(shared_data / "pubmedqa" / name, tmp_path / folder / name)
    release, ours = _load("pubmedqa", tmp_path, shots=2), _load("pubmedqa", shared_data, shots=2)
    assert len(release[0]) == 500 and release[:3] == ours[:3]


def _medqa_rows(split: str, n: int) -> str:
    rows = [{"question": f"{split} case {i}: a 30-year-old has a fever. Next step?", "meta_info": "step1",
             "options": {"A": f"Rest {i}", "B": "Fluids", "C": "Surgery", "D": "Biopsy"}, "answer": "Fluids",
             "answer_idx": "ABCD"[i % 4], "metamap_phrases": ["fever"]} for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.mark.parametrize("prefix", ["", "medqa/"])
def test_medqa_data_clean_layout(tmp_path, prefix):
    ours, release = tmp_path / "ours", tmp_path / "release"
    (ours / "medqa").mkdir(parents=True)
    folder = release / prefix / "data_clean/questions/US/4_options"
    folder.mkdir(parents=True)
    for split, n in (("test", 6), ("dev", 3)):
        (ours / f"medqa/{split}.jsonl").write_text(_medqa_rows(split, n))
        (folder / f"phrases_no_exclude_{split}.jsonl").write_text(_medqa_rows(split, n))
    mine, theirs = _load("medqa", ours, shots=2), _load("medqa", release, shots=2)
    assert theirs[:3] == mine[:3] and len(theirs[0]) == 6 and theirs[2] == [0, 1, 2, 3, 0, 1]
    assert "dev case 0" in theirs[1][0], "shots come from the release's dev file"
    assert theirs[3] == [folder / "phrases_no_exclude_test.jsonl", folder / "phrases_no_exclude_dev.jsonl"]


@pytest.mark.parametrize("task, benchmark, subject", [("mmlu_anatomy", "mmlu", "anatomy"), ("medmcqa", "medmcqa", ""),
                                                     ("pubmedqa", "pubmedqa", ""), ("medqa", "medqa", "")])
def test_missing_files_error_lists_every_layout(tmp_path, task, benchmark, subject):
    with pytest.raises(DataError) as caught:
        prepare_tasks(task, shots=None, limit=None, data_dir=str(tmp_path))
    message = str(caught.value)
    layouts = candidate_layouts(benchmark, subject)
    assert len(layouts) >= 3 and "\n" not in message
    for layout in layouts:
        assert layout.describe() in message
    assert any("data_clean/questions/US/4_options" in la.describe() for la in layouts) == (benchmark == "medqa")
