"""Question ids are unique within a task: answers are stored and reused by (task, id), so a repeated id would
silently collapse two questions into one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lmbench.errors import DataError


def first_duplicate(ids: Iterable[str]) -> tuple[int, int, str] | None:
    """(first position, repeated position, id) of the first id seen twice, or None."""
    seen: dict[str, int] = {}
    for position, doc_id in enumerate(ids):
        if doc_id in seen:
            return seen[doc_id], position, doc_id
        seen[doc_id] = position
    return None


def check_unique_ids(task: str, docs: Sequence[Any], files: Sequence[Any] = ()) -> None:
    """Raise DataError naming the first repeated `doc_id` of `docs` (questions of task `task`)."""
    found = first_duplicate(str(d.doc_id) for d in docs)
    if found is None:
        return
    first, again, doc_id = found
    where = f" in {files[0]}" if len(files) == 1 else ""
    raise DataError(f"task {task}{where}: question id {doc_id!r} is used twice (questions {first + 1} and "
                    f"{again + 1}); give every question its own id, or drop the ids to number questions by position")
