"""MedMCQA (Pal et al., 2022), validation split, lm-evaluation-harness prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmbench.data.hub import HubUnavailable, load_hub_rows
from lmbench.data.locate import find_layout, missing_layout
from lmbench.data.readers import read_jsonl
from lmbench.errors import DataError
from lmbench.tasks.base import Doc, MultipleChoiceTask, TaskData
from lmbench.tasks.registry import register

TEMPLATE = "Question: {question}\nChoices:\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer:"
CITATION = "Pal et al., MedMCQA: A Large-scale Multi-Subject Multi-Choice Dataset for Medical domain QA, CHIL 2022"


def _doc(row: dict[str, Any], index: int, cop_base: int, where: str) -> Doc:
    try:
        gold = int(row["cop"]) - cop_base
        fields = {"question": row["question"], "A": row["opa"], "B": row["opb"], "C": row["opc"], "D": row["opd"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: row {index + 1} lacks a valid field {exc}; expected question, opa-opd, cop") from None
    if not 0 <= gold <= 3:
        raise DataError(f"{where}: row {index + 1} has cop={row['cop']!r}, expected {cop_base}-{cop_base + 3}")
    return Doc(doc_id=str(row.get("id") or index), fields={k: str(v) for k, v in fields.items()},
               choices=("A", "B", "C", "D"), gold=gold, group=row.get("subject_name"))


def load(root: Path | None) -> TaskData:
    path = (find_layout(root, "medmcqa") or {}).get("dev")
    if path:
        docs = [_doc(r, i, 1, str(path)) for i, r in enumerate(read_jsonl(path))]  # cop counts from 1 in the release
        return TaskData(docs, docs, [path], fewshot_excludes_self=True)
    reason = None
    if root is None:
        try:
            rows = load_hub_rows("openlifescienceai/medmcqa", None, "validation")  # cop counts from 0 on the Hub
            docs = [_doc(r, i, 0, "openlifescienceai/medmcqa") for i, r in enumerate(rows)]
            return TaskData(docs, docs, [], fewshot_excludes_self=True)
        except HubUnavailable as exc:
            reason = str(exc)
    raise missing_layout("medmcqa", "medmcqa", hub_reason=reason)


register(MultipleChoiceTask(name="medmcqa", version="1", family="medmcqa", template=TEMPLATE, loader=load,
                            citation=CITATION))
