"""Your own multiple-choice questions: `--tasks mcq:path/to/file.jsonl` (or .csv).

Each row needs `question`, the options as a `choices` list, an `options`
object {"A": .., "B": ..} or columns A, B, C, ... , and `answer` as a 0-based
index, a letter or the exact text of the right option. Optional: `id`,
`subject`. The prompt is "Question: ...\\nA. ..\\nB. ..\\nAnswer:" and the
letters are scored. Shots come from the first rows of the same file (the
question itself excluded). The built-in smoke-test sample `lmbench_sample`
is such a file, shipped with lmbench.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from lmbench.data.readers import read_csv_rows, read_jsonl
from lmbench.errors import DataError, TaskError
from lmbench.tasks.base import Doc, MultipleChoiceTask, TaskData
from lmbench.tasks.ids import first_duplicate
from lmbench.tasks.registry import register, register_prefix

TEMPLATE = "Question: {question}\n{options}Answer:"
CLOZE_TEMPLATE = "Question: {question}\nAnswer:"
LETTERS = string.ascii_uppercase
SAMPLE_FILE = Path(__file__).parent / "builtin" / "sample.jsonl"


def _options(row: dict[str, Any]) -> list[str]:
    if isinstance(row.get("choices"), list):
        return [str(c) for c in row["choices"]]
    if isinstance(row.get("options"), dict):
        return [str(row["options"][k]) for k in sorted(row["options"])]
    return [str(row[k]) for k in LETTERS if row.get(k) not in (None, "")]


def _gold(answer: Any, options: list[str]) -> int:
    text = str(answer).strip()
    if text.isdigit() and int(text) < len(options):
        return int(text)
    if len(text) == 1 and text.upper() in LETTERS[: len(options)]:
        return LETTERS.index(text.upper())
    if text in options:
        return options.index(text)
    raise ValueError(f"answer {answer!r} is not an index, a letter or one of the options")


def row_to_doc(row: dict[str, Any], number: int, where: str, cloze: bool = False) -> Doc:
    options = _options(row)
    if "question" not in row or len(options) < 2:
        raise DataError(f"{where}:{number}: needs `question` and at least 2 options (choices list, options object or A/B/.. columns)")
    try:
        gold = _gold(row.get("answer", ""), options)
    except ValueError as exc:
        raise DataError(f"{where}:{number}: {exc}") from None
    rendered = "".join(f"{LETTERS[i]}. {text}\n" for i, text in enumerate(options))
    choices = tuple(options) if cloze else tuple(LETTERS[: len(options)])
    return Doc(doc_id=str(row.get("id", number)), fields={"question": str(row["question"]).strip(), "options": rendered},
               choices=choices, gold=gold, group=row.get("subject"))


def read_mcq(path: Path, cloze: bool = False) -> list[Doc]:
    if path.suffix.lower() == ".csv":
        rows = read_csv_rows(path)
        if not rows:
            raise DataError(f"{path}: empty file")
        header = [h.strip() for h in rows[0]]
        records = [dict(zip(header, r)) for r in rows[1:]]
    elif path.suffix.lower() in (".jsonl", ".json"):
        records = read_jsonl(path)
    else:
        raise DataError(f"{path}: unsupported extension {path.suffix!r}; use .jsonl or .csv")
    if not records:
        raise DataError(f"{path}: no questions found")
    offset = 2 if path.suffix.lower() == ".csv" else 1  # report file line numbers (CSV has a header line)
    docs = [row_to_doc(r, i + offset, str(path), cloze) for i, r in enumerate(records)]
    found = first_duplicate(d.doc_id for d in docs)
    if found:  # answers are keyed by id: a repeated one would silently merge two questions
        first, again, doc_id = found
        raise DataError(f"{path}:{again + offset}: id {doc_id!r} is already used by the question on line "
                        f"{first + offset}; give every question its own id (or drop the id field to number them)")
    return docs


def mcq_task(argument: str, name: str | None = None, cloze: bool = False) -> MultipleChoiceTask:
    path = Path(argument).expanduser()
    prefix = "mcq_cloze" if cloze else "mcq"

    def load(_root: Path | None) -> TaskData:
        if not path.is_file():
            raise TaskError(f"mcq file {argument!r} does not exist; use --tasks {prefix}:path/to/questions.jsonl")
        docs = read_mcq(path, cloze)
        return TaskData(docs, docs, [path], fewshot_excludes_self=True)

    return MultipleChoiceTask(name=name or f"{prefix}:{argument}", version="1", family=prefix,
                              template=CLOZE_TEMPLATE if cloze else TEMPLATE, loader=load)


register_prefix("mcq", mcq_task)
register_prefix("mcq_cloze", lambda argument: mcq_task(argument, cloze=True))
register(mcq_task(str(SAMPLE_FILE), name="lmbench_sample", cloze=True))
