"""MedQA-USMLE, 4 options (Jin et al., 2021), lm-evaluation-harness `medqa_4options` prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmbench.data.hub import HubUnavailable, load_hub_rows
from lmbench.data.locate import find_layout, missing_layout
from lmbench.data.readers import read_jsonl
from lmbench.errors import DataError
from lmbench.tasks.base import Doc, MultipleChoiceTask, TaskData
from lmbench.tasks.registry import register

LETTERS = ("A", "B", "C", "D")
TEMPLATE = "Question: {question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer:"
CITATION = "Jin et al., What Disease does this Patient Have? (MedQA), Applied Sciences 2021"


def _doc(row: dict[str, Any], index: int, where: str) -> Doc:
    options = row.get("options")
    if not isinstance(options, dict) or sorted(options) != list(LETTERS):
        raise DataError(f"{where}:{index + 1}: `options` must be an object with keys A-D (4-option MedQA)")
    answer = str(row.get("answer_idx", "")).strip().upper()
    if answer not in LETTERS or "question" not in row:
        raise DataError(f"{where}:{index + 1}: needs `question` and `answer_idx` in A-D, got {row.get('answer_idx')!r}")
    fields = {"question": str(row["question"]), **{k: str(options[k]) for k in LETTERS}}
    return Doc(doc_id=str(row.get("id", index)), fields=fields, choices=LETTERS, gold=LETTERS.index(answer))


def load(root: Path | None) -> TaskData:
    files = find_layout(root, "medqa") or {}
    test, dev = files.get("test"), files.get("dev")
    if test:
        docs = [_doc(r, i, str(test)) for i, r in enumerate(read_jsonl(test))]
        if dev:
            return TaskData(docs, [_doc(r, i, str(dev)) for i, r in enumerate(read_jsonl(dev))], [test, dev])
        return TaskData(docs, docs, [test], fewshot_excludes_self=True)
    reason = None
    if root is None:
        try:
            rows = load_hub_rows("GBaker/MedQA-USMLE-4-options", None, "test")
            docs = [_doc(r, i, "GBaker/MedQA-USMLE-4-options") for i, r in enumerate(rows)]
            return TaskData(docs, docs, [], fewshot_excludes_self=True)
        except HubUnavailable as exc:
            reason = str(exc)
    raise missing_layout("medqa", "medqa", hub_reason=reason)


register(MultipleChoiceTask(name="medqa", version="1", family="medqa", template=TEMPLATE, loader=load,
                            citation=CITATION))
