"""PubMedQA (Jin et al., 2019), PQA-L, the official 500-question test split; yes/no/maybe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmbench.data.hub import HubUnavailable, load_hub_rows
from lmbench.data.locate import find_layout, missing_layout
from lmbench.data.readers import read_json
from lmbench.errors import DataError
from lmbench.tasks.base import Doc, MultipleChoiceTask, TaskData
from lmbench.tasks.registry import register

TEMPLATE = "Abstract: {contexts}\nQuestion: {question}\nAnswer:"
CHOICES = ("yes", "no", "maybe")
CITATION = "Jin et al., PubMedQA: A Dataset for Biomedical Research Question Answering, EMNLP 2019"


def _doc(pmid: str, row: dict[str, Any], where: str) -> Doc:
    try:
        decision = row["final_decision"]
        fields = {"contexts": "\n".join(row["CONTEXTS"]), "question": row["QUESTION"]}
    except (KeyError, TypeError) as exc:
        raise DataError(f"{where}: entry {pmid} lacks {exc}; expected QUESTION, CONTEXTS, final_decision") from None
    if decision not in CHOICES:
        raise DataError(f"{where}: entry {pmid} has final_decision {decision!r}, expected yes/no/maybe")
    return Doc(doc_id=str(pmid), fields=fields, choices=CHOICES, gold=CHOICES.index(decision))


def load(root: Path | None) -> TaskData:
    files = find_layout(root, "pubmedqa")
    if files:
        labelled, split = files["labelled"], files["test_ids"]
        entries = read_json(labelled)
        test_ids = list(read_json(split))
        unknown = [i for i in test_ids if i not in entries]
        if unknown:
            raise DataError(f"{split}: ids {unknown[:3]} are not in {labelled}; are both files from PQA-L?")
        test = [_doc(i, entries[i], str(labelled)) for i in test_ids]
        chosen = set(test_ids)
        pool = [_doc(i, row, str(labelled)) for i, row in entries.items() if i not in chosen]
        return TaskData(test, pool, [labelled, split])
    reason = None
    if root is None:
        try:
            rows = load_hub_rows("bigbio/pubmed_qa", "pubmed_qa_labeled_fold0_source", "test")
            train = load_hub_rows("bigbio/pubmed_qa", "pubmed_qa_labeled_fold0_source", "train")
            return TaskData([_doc(r["QUESTION"][:40], r, "hub") for r in rows],
                            [_doc(r["QUESTION"][:40], r, "hub") for r in train], [])
        except HubUnavailable as exc:
            reason = str(exc)
    raise missing_layout("pubmedqa", "pubmedqa", hub_reason=reason)


register(MultipleChoiceTask(name="pubmedqa", version="1", family="pubmedqa", template=TEMPLATE, loader=load,
                            citation=CITATION))
