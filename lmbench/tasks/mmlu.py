"""MMLU (Hendrycks et al., 2021) in lm-evaluation-harness's `mmlu` format; 57 subjects, one loop."""

from __future__ import annotations

from pathlib import Path

from lmbench.data.hub import HubUnavailable, load_hub_rows
from lmbench.data.locate import find_layout, missing_layout
from lmbench.data.readers import read_csv_rows
from lmbench.errors import DataError
from lmbench.tasks.base import Doc, MultipleChoiceTask, TaskData
from lmbench.tasks.registry import register, register_group

SUBJECTS = (
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology college_chemistry "
    "college_computer_science college_mathematics college_medicine college_physics computer_security "
    "conceptual_physics econometrics electrical_engineering elementary_mathematics formal_logic global_facts "
    "high_school_biology high_school_chemistry high_school_computer_science high_school_european_history "
    "high_school_geography high_school_government_and_politics high_school_macroeconomics high_school_mathematics "
    "high_school_microeconomics high_school_physics high_school_psychology high_school_statistics "
    "high_school_us_history high_school_world_history human_aging human_sexuality international_law jurisprudence "
    "logical_fallacies machine_learning management marketing medical_genetics miscellaneous moral_disputes "
    "moral_scenarios nutrition philosophy prehistory professional_accounting professional_law professional_medicine "
    "professional_psychology public_relations security_studies sociology us_foreign_policy virology world_religions"
).split()
MEDICAL = ("anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics",
           "professional_medicine")
LETTERS = ("A", "B", "C", "D")
TEMPLATE = "{question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer:"
CITATION = "Hendrycks et al., Measuring Massive Multitask Language Understanding, ICLR 2021"


def _doc(subject: str, index: int, question: str, options: list[str], answer: str, where: str) -> Doc:
    answer = answer.strip()
    if answer.upper() in LETTERS:
        gold = LETTERS.index(answer.upper())
    elif answer in ("0", "1", "2", "3"):
        gold = int(answer)
    else:
        raise DataError(f"{where}: answer {answer!r} is not A-D or 0-3")
    fields = {"question": question.strip(), **dict(zip(LETTERS, options))}
    return Doc(doc_id=f"{subject}/{index}", fields=fields, choices=LETTERS, gold=gold, group=subject)


def read_mmlu_csv(path: Path, subject: str) -> list[Doc]:
    """Both layouts: header `question,choice0..3,answer` (0-3) and the header-less release (letter answers)."""
    rows = read_csv_rows(path)
    if rows and [c.strip().lower() for c in rows[0][:1]] == ["question"]:
        rows = rows[1:]
    docs = []
    for index, row in enumerate(rows):
        if len(row) != 6:
            raise DataError(f"{path}:{index + 1}: expected 6 columns (question, 4 choices, answer), got {len(row)}")
        docs.append(_doc(subject, index, row[0], row[1:5], row[5], f"{path}:{index + 1}"))
    return docs


def _loader(subject: str):
    def load(root: Path | None) -> TaskData:
        files = find_layout(root, "mmlu", subject)
        if files:
            return TaskData(read_mmlu_csv(files["test"], subject), read_mmlu_csv(files["dev"], subject),
                            list(files.values()))
        reason = None
        if root is None:
            try:
                split = {s: load_hub_rows("cais/mmlu", subject, s) for s in ("test", "dev")}
                docs = {s: [_doc(subject, i, r["question"], r["choices"], str(r["answer"]), "cais/mmlu")
                            for i, r in enumerate(rows)] for s, rows in split.items()}
                return TaskData(docs["test"], docs["dev"], [])
            except HubUnavailable as exc:
                reason = str(exc)
        raise missing_layout(f"mmlu_{subject}", "mmlu", subject, reason)
    return load


for _subject in SUBJECTS:
    register(MultipleChoiceTask(
        name=f"mmlu_{_subject}", version="1", family="mmlu", template=TEMPLATE, loader=_loader(_subject),
        description=f"The following are multiple choice questions (with answers) about {_subject.replace('_', ' ')}.\n\n",
        citation=CITATION, default_shots=5,
    ))
register_group("mmlu", [f"mmlu_{s}" for s in SUBJECTS])
register_group("mmlu_medical", [f"mmlu_{s}" for s in MEDICAL])
