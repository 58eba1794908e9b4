"""Converters into LMFlow datasets: the real files in ../shared/data and Hugging Face rows.

Every converter validates what it builds with :func:`lmbench.data.lmflow.validate_instance`, so its
output loads back unchanged after :func:`save_lmflow`.

- HH-RLHF dialogues ("\\n\\nHuman: ...\\n\\nAssistant: ...") are split on the markers
  ``"\\n\\nHuman:"`` / ``"\\n\\nAssistant:"`` only (an inline "Human:" with no blank line before it
  stays inside the turn), and each turn is stripped. A dialogue is malformed, and skipped and
  counted in ``LMFlowDataset.skipped``, when it has text before the first marker, an empty turn,
  two turns in a row from the same speaker, or does not end with an Assistant turn; a pair is also
  skipped when chosen and rejected differ before the final Assistant turn.
  Seen on the test files (``hh_rlhf_conversations`` / ``hh_rlhf_pairs`` on each, counted with len()
  and ``.skipped``): helpful-base 2354 rows -> chosen 2344 (10 skipped), rejected 2337 (17 skipped),
  pairs 2335 (19 skipped); harmless-base 2312 rows -> chosen 2300 (12 skipped), rejected 2307
  (5 skipped), pairs 2299 (13 skipped). Every skipped pair had a malformed side; no well-formed pair
  had differing prefixes.
- PubMedQA PQA-L: input = PUBMEDQA_TEMPLATE, output = LONG_ANSWER (1000 rows, 500 with the
  official test ids of pubmedqa/test_ground_truth.json).
- MedMCQA dev: rows whose ``exp`` is a non-empty string; input = MEDMCQA_TEMPLATE, output =
  ``exp.strip()``: 2206 of the 4183 rows have one (the other 1977 have ``exp: null``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lmbench.data.lmflow import DATASET_TYPES, LMFlowDataset, validate_instance
from lmbench.data.readers import read_json, read_jsonl
from lmbench.errors import DataError

# {question} is QUESTION; {context} is CONTEXTS joined by one space.
PUBMEDQA_TEMPLATE = "Question: {question}\nContext: {context}"
MEDMCQA_TEMPLATE = "Question: {question}\nOptions:\nA. {opa}\nB. {opb}\nC. {opc}\nD. {opd}"
_HH_MARKER = re.compile(r"\n\n(Human|Assistant):")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}


def parse_hh_dialogue(text: str) -> list[dict[str, str]] | None:
    """Alternating user/assistant messages of one HH-RLHF dialogue, or None when it is malformed."""
    parts = _HH_MARKER.split(text)
    if parts[0].strip() or len(parts) < 3:
        return None
    messages: list[dict[str, str]] = []
    for speaker, content in zip(parts[1::2], parts[2::2], strict=True):
        role, content = _HH_ROLES[speaker], content.strip()
        if not content or role == (messages[-1]["role"] if messages else "assistant"):
            return None
        messages.append({"role": role, "content": content})
    return messages if messages[-1]["role"] == "assistant" else None


def hh_rlhf_conversations(path: str | Path, *, field: str = "chosen", limit: int | None = None) -> LMFlowDataset:
    """One conversation per well-formed dialogue of column `field` ("chosen" or "rejected")."""
    if field not in ("chosen", "rejected"):
        raise DataError(f"HH-RLHF field {field!r} does not exist; use 'chosen' or 'rejected'")
    path = Path(path)
    instances, skipped = [], 0
    for index, row in enumerate(read_jsonl(path)):
        if limit is not None and len(instances) >= limit:
            break
        messages = parse_hh_dialogue(row.get(field)) if isinstance(row.get(field), str) else None
        if messages is None:
            skipped += 1
            continue
        where = f"{path}: instance {index}"
        instances.append(validate_instance("conversation", {"conversation_id": index, "messages": messages}, where))
    return LMFlowDataset("conversation", instances, [path], skipped)


def hh_rlhf_pairs(path: str | Path, limit: int | None = None) -> LMFlowDataset:
    """paired_conversation instances: chosen and rejected share every turn but the final Assistant reply."""
    path = Path(path)
    instances, skipped = [], 0
    for index, row in enumerate(read_jsonl(path)):
        if limit is not None and len(instances) >= limit:
            break
        chosen, rejected = (
            parse_hh_dialogue(row[k]) if isinstance(row.get(k), str) else None for k in ("chosen", "rejected")
        )
        if chosen is None or rejected is None or chosen[:-1] != rejected[:-1]:
            skipped += 1
            continue
        pair = {
            "chosen": {"conversation_id": index, "messages": chosen},
            "rejected": {"conversation_id": index, "messages": rejected},
        }
        instances.append(validate_instance("paired_conversation", pair, f"{path}: instance {index}"))
    return LMFlowDataset("paired_conversation", instances, [path], skipped)


def pubmedqa_text2text(ori_pqal_json: str | Path, ids: Iterable[str] | None = None) -> LMFlowDataset:
    """text2text from PubMedQA PQA-L (file order, or the order of `ids`); each instance keeps its PubMed `id`."""
    path = Path(ori_pqal_json)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object keyed by PubMed id (PubMedQA ori_pqal.json)")
    wanted = list(data) if ids is None else [str(i) for i in ids]
    instances = []
    for index, pmid in enumerate(wanted):
        if pmid not in data:
            raise DataError(f"{path}: PubMed id {pmid!r} is not in the file; pass ids taken from this file")
        row = data[pmid]
        where = f"{path}: instance {index} (id {pmid})"
        try:
            text = PUBMEDQA_TEMPLATE.format(question=row["QUESTION"], context=" ".join(row["CONTEXTS"]))
            instance = {"id": pmid, "input": text, "output": row["LONG_ANSWER"]}
        except (KeyError, TypeError) as exc:
            raise DataError(
                f"{where}: missing or malformed field {exc}; expected QUESTION, CONTEXTS[] and LONG_ANSWER"
            ) from None
        instances.append(validate_instance("text2text", instance, where))
    if not instances:
        raise DataError(f"{path}: no instances selected; pass at least one PubMed id")
    return LMFlowDataset("text2text", instances, [path])


def pubmedqa_decisions(ori_pqal_json: str | Path, ids: Iterable[str] | None = None) -> LMFlowDataset:
    """text2text in the `pubmedqa` task's own prompt: input = its "Abstract: ...\nQuestion: ...\nAnswer:" prompt,
    output = " " + final_decision (yes/no/maybe), i.e. the continuation the task scores. With template `plain`
    an SFT run trains exactly the answer token(s) the multiple-choice task compares."""
    from lmbench.tasks.pubmedqa import TEMPLATE

    path = Path(ori_pqal_json)
    data = read_json(path)
    wanted = list(data) if ids is None else [str(i) for i in ids]
    instances = []
    for index, pmid in enumerate(wanted):
        row = data.get(pmid) if isinstance(data, dict) else None
        where = f"{path}: instance {index} (id {pmid})"
        try:
            text = TEMPLATE.format(contexts="\n".join(row["CONTEXTS"]), question=row["QUESTION"])
            instance = {"id": pmid, "input": text, "output": " " + row["final_decision"]}
        except (KeyError, TypeError) as exc:
            raise DataError(f"{where}: missing or malformed field {exc}; expected QUESTION, CONTEXTS[] and "
                            "final_decision") from None
        instances.append(validate_instance("text2text", instance, where))
    if not instances:
        raise DataError(f"{path}: no instances selected; pass at least one PubMed id")
    return LMFlowDataset("text2text", instances, [path])


def medmcqa_explanations(dev_jsonl: str | Path, limit: int | None = None) -> LMFlowDataset:
    """text2text from MedMCQA rows that carry an explanation; `skipped` counts rows without one."""
    path = Path(dev_jsonl)
    instances, skipped = [], 0
    for index, row in enumerate(read_jsonl(path)):
        if limit is not None and len(instances) >= limit:
            break
        explanation = row.get("exp")
        if not isinstance(explanation, str) or not explanation.strip():
            skipped += 1
            continue
        where = f"{path}: instance {index}"
        try:
            text = MEDMCQA_TEMPLATE.format(**{k: row[k] for k in ("question", "opa", "opb", "opc", "opd")})
        except KeyError as exc:
            raise DataError(f"{where}: missing field {exc}; MedMCQA rows have question, opa, opb, opc, opd") from None
        instance = {"id": row.get("id", index), "input": text, "output": explanation.strip()}
        instances.append(validate_instance("text2text", instance, where))
    return LMFlowDataset("text2text", instances, [path], skipped)


def from_hf_rows(
    rows: Iterable[Mapping[str, Any]], dataset_type: str, mapping: Mapping[str, str], *, source: str = "rows"
) -> LMFlowDataset:
    """LMFlow instances from Hugging Face rows (e.g. a datasets.Dataset); `mapping` is {row column: LMFlow key}.

    Only mapped columns are kept, e.g. ``{"question": "input", "answer": "output"}`` for text2text.
    `source` names the rows in error messages.
    """
    if dataset_type not in DATASET_TYPES:
        raise DataError(f"{source}: unknown dataset type {dataset_type!r}; use one of {', '.join(DATASET_TYPES)}")
    if not mapping:
        raise DataError(f"{source}: empty field mapping; map row columns to LMFlow keys, e.g. {{'question': 'input'}}")
    instances = []
    for index, row in enumerate(rows):
        where = f"{source}: instance {index}"
        missing = [column for column in mapping if column not in row]
        if missing:
            raise DataError(
                f"{where}: no column {missing[0]!r} (mapped to {mapping[missing[0]]!r}); "
                f"the row has {sorted(row)}; fix the mapping"
            )
        instances.append(validate_instance(dataset_type, {key: row[column] for column, key in mapping.items()}, where))
    if not instances:
        raise DataError(f"{source}: no rows; give at least one row to convert")
    return LMFlowDataset(dataset_type, instances, [])


def save_lmflow(dataset: LMFlowDataset, path: str | Path) -> Path:
    """Write LMFlow's standard JSON {"type", "instances"} (a .jsonl path: a type header line, one instance a line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        lines = [json.dumps({"type": dataset.type})] + [
            json.dumps(row, ensure_ascii=False) for row in dataset.instances
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        doc = {"type": dataset.type, "instances": dataset.instances}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
