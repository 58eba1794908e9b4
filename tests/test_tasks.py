"""Task prompts are exactly the harness formats of DESIGN.md; data files are read in every documented layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmbench.errors import DataError, TaskError
from lmbench.runner import EvalConfig
from lmbench.tasks.prepare import prepare_tasks
from lmbench.tasks import resolve, task_names
from lmbench.tasks.mmlu import MEDICAL, SUBJECTS, read_mmlu_csv


def prepare(config: EvalConfig):
    return prepare_tasks(config.tasks, shots=config.shots, limit=config.limit, data_dir=config.data_dir)


def _mmlu_dir(root: Path, subject: str = "anatomy", header: bool = True, letters: bool = False) -> Path:
    for split, n in (("dev", 5), ("test", 3)):
        folder = root / "mmlu" / split
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["question,choice0,choice1,choice2,choice3,answer"] if header else []
        for i in range(n):
            answer = "ABCD"[i % 4] if letters else str(i % 4)
            lines.append(f'" {split} question {i}? ",opt a{i},opt b{i},"opt, c{i}",opt d{i},{answer}')
        (folder / f"{subject}_{split}.csv").write_text("\n".join(lines) + "\n")
    return root


def test_registry_has_all_mmlu_subjects_and_groups():
    names = task_names()
    assert len(SUBJECTS) == 57 and all(f"mmlu_{s}" in names for s in SUBJECTS)
    tasks, groups = resolve("mmlu_medical,medmcqa,pubmedqa,medqa")
    assert [t.name for t in tasks][:6] == [f"mmlu_{s}" for s in MEDICAL]
    assert groups == {"mmlu_medical": tuple(f"mmlu_{s}" for s in MEDICAL)}


def test_unknown_task_suggests_close_names():
    with pytest.raises(TaskError, match="did you mean.*mmlu_anatomy"):
        resolve("mmlu_anatomyy")


def test_mmlu_prompt_exact_with_shots(tmp_path):
    root = _mmlu_dir(tmp_path)
    prepared, _ = prepare(EvalConfig(tasks="mmlu_anatomy", shots=2, data_dir=str(root)))
    prompt = prepared[0].prompts[0]
    expected = (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        "dev question 0?\nA. opt a0\nB. opt b0\nC. opt, c0\nD. opt d0\nAnswer: A\n\n"
        "dev question 1?\nA. opt a1\nB. opt b1\nC. opt, c1\nD. opt d1\nAnswer: B\n\n"
        "test question 0?\nA. opt a0\nB. opt b0\nC. opt, c0\nD. opt d0\nAnswer:"
    )
    assert prompt == expected
    requests = prepared[0].task.requests(prompt, prepared[0].data.docs[0])
    assert [r.continuation for r in requests] == [" A", " B", " C", " D"]


def test_mmlu_headerless_release_csv_reads_the_same(tmp_path):
    with_header = read_mmlu_csv(_mmlu_dir(tmp_path / "a") / "mmlu/test/anatomy_test.csv", "anatomy")
    release = read_mmlu_csv(_mmlu_dir(tmp_path / "b", header=False, letters=True) / "mmlu/test/anatomy_test.csv",
                            "anatomy")
    assert [(d.fields, d.gold) for d in with_header] == [(d.fields, d.gold) for d in release]


def test_too_many_shots_is_a_task_error(tmp_path):
    with pytest.raises(TaskError, match="--shots 6 is more than.*5"):
        prepare(EvalConfig(tasks="mmlu_anatomy", shots=6, data_dir=str(_mmlu_dir(tmp_path))))


def test_malformed_mmlu_row_names_file_and_line(tmp_path):
    root = _mmlu_dir(tmp_path)
    path = root / "mmlu/test/anatomy_test.csv"
    path.write_text(path.read_text() + "only,three,columns\n")
    with pytest.raises(DataError, match=r"anatomy_test.csv:4: expected 6 columns"):
        prepare(EvalConfig(tasks="mmlu_anatomy", data_dir=str(root)))


def test_missing_data_offline_names_files_and_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("LMBENCH_DATA", raising=False)
    with pytest.raises(DataError, match=r"medmcqa/dev.jsonl or .*dev.json under --data-dir"):
        prepare(EvalConfig(tasks="medmcqa", data_dir=str(tmp_path)))
    with pytest.raises(DataError, match="HF_HUB_OFFLINE"):
        prepare(EvalConfig(tasks="pubmedqa"))


def test_medqa_prompt_and_answer_idx(tmp_path):
    (tmp_path / "medqa").mkdir()
    row = {"question": "A 30-year-old man has a fever. Next step?", "options": {"A": "Rest", "B": "Fluids",
           "C": "Surgery", "D": "Biopsy"}, "answer_idx": "B"}
    (tmp_path / "medqa/test.jsonl").write_text(json.dumps(row) + "\n")
    prepared, _ = prepare(EvalConfig(tasks="medqa", data_dir=str(tmp_path)))
    assert prepared[0].prompts[0] == ("Question: A 30-year-old man has a fever. Next step?\nA. Rest\nB. Fluids\n"
                                      "C. Surgery\nD. Biopsy\nAnswer:")
    assert prepared[0].data.docs[0].gold == 1


def test_real_data_prompts(shared_data):
    prepared, _ = prepare(EvalConfig(tasks="medmcqa,pubmedqa", limit=2, data_dir=str(shared_data)))
    medmcqa, pubmedqa = prepared
    assert medmcqa.prompts[0].startswith("Question: Which of the following is not true for myelinated nerve fibers:"
                                         "\nChoices:\nA. Impulse")
    assert medmcqa.prompts[0].endswith("\nAnswer:") and medmcqa.data.docs[0].gold == 0  # cop=1 -> A
    assert len(pubmedqa.task.loader(shared_data).docs) == 500
    assert pubmedqa.prompts[0].startswith("Abstract: ") and "\nQuestion: " in pubmedqa.prompts[0]
    assert pubmedqa.data.docs[0].choices == ("yes", "no", "maybe")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_mcq_file_task(tmp_path, suffix):
    path = tmp_path / f"q{suffix}"
    if suffix == ".jsonl":
        rows = [{"question": "2+2?", "choices": ["3", "4", "5"], "answer": 1},
                {"question": "Sky?", "options": {"A": "blue", "B": "green"}, "answer": "A"},
                {"question": "Heart?", "choices": ["organ", "bone"], "answer": "organ"}]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path.write_text("question,A,B,C,answer\n2+2?,3,4,5,B\nSky?,blue,green,,0\nHeart?,organ,bone,,organ\n")
    prepared, _ = prepare(EvalConfig(tasks=f"mcq:{path}", shots=1))
    docs = prepared[0].data.docs
    assert [d.gold for d in docs] == [1, 0, 0]
    assert prepared[0].prompts[0] == "Question: Sky?\nA. blue\nB. green\nAnswer: A\n\nQuestion: 2+2?\nA. 3\nB. 4\nC. 5\nAnswer:"


def test_mcq_bad_answer_names_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "x", "choices": ["a", "b"], "answer": "Z"}) + "\n")
    with pytest.raises(DataError, match=r"q.jsonl:1: answer 'Z'"):
        prepare(EvalConfig(tasks=f"mcq:{path}"))


def test_builtin_sample_loads_without_data_dir(monkeypatch):
    monkeypatch.delenv("LMBENCH_DATA", raising=False)
    prepared, _ = prepare(EvalConfig())
    assert prepared[0].task.name == "lmbench_sample" and len(prepared[0].data.docs) >= 20


def test_mcq_cloze_scores_option_texts(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "Which organ pumps blood?", "choices": ["liver", "heart"], "answer": 1}) + "\n")
    prepared, _ = prepare(EvalConfig(tasks=f"mcq_cloze:{path}"))
    doc = prepared[0].data.docs[0]
    assert prepared[0].prompts[0] == "Question: Which organ pumps blood?\nAnswer:"
    assert [r.continuation for r in prepared[0].task.requests(prepared[0].prompts[0], doc)] == [" liver", " heart"]


def test_sample_draws_a_seeded_subset_in_file_order(shared_data):
    from lmbench.errors import ConfigError

    def ids(seed):
        prepared, _ = prepare_tasks("pubmedqa", shots=None, limit=None, data_dir=str(shared_data), sample=60, seed=seed)
        return [d.doc_id for d in prepared[0].data.docs], [d.gold for d in prepared[0].data.docs]

    first, golds = ids(1)
    assert len(first) == 60 and ids(1)[0] == first and ids(2)[0] != first
    everything, _ = prepare_tasks("pubmedqa", shots=None, limit=None, data_dir=str(shared_data))
    order = [d.doc_id for d in everything[0].data.docs]
    assert [order.index(i) for i in first] == sorted(order.index(i) for i in first)
    assert len(set(golds)) == 3, "the test file is sorted by label; a random sample spans all three"
    with pytest.raises(ConfigError, match="--sample"):
        prepare_tasks("pubmedqa", shots=None, limit=5, data_dir=str(shared_data), sample=5)
