"""LMFlow dataset files: load, validate and normalise the five LMFlow dataset types.

A ``.json`` file is LMFlow's own format, ``{"type": TYPE, "instances": [...]}``. A ``.jsonl`` file
holds one instance per line; its type is taken from a header line ``{"type": TYPE}`` when the FIRST
line is an object whose only key is ``type``, otherwise it is inferred from the keys of the first
instance: ``messages`` -> conversation; ``prompt`` + ``chosen`` + ``rejected`` (strings) ->
paired_text2text; ``chosen`` + ``rejected`` (conversations) -> paired_conversation; ``input`` +
``output`` -> text2text; ``text`` -> text_only. A directory loads every ``*.json`` / ``*.jsonl`` in
it (sorted by name, not recursive) as one dataset; all files must have the same type.

Instance shapes (extra keys such as ``conversation_id`` are kept as they are):

- text_only ``{"text": str}``; text2text ``{"input": str, "output": str}``;
  paired_text2text ``{"prompt": str, "chosen": str, "rejected": str}``
- conversation ``{"messages": [{"role": "user"|"assistant", "content": str}, ...], "system": str,
  "tools": list}``: turns alternate user/assistant, start with the user and end with the assistant
  reply that is scored. A leading ``{"role": "system"}`` message is moved into ``system``; after
  normalisation ``system`` is always present ("" when there is none); ``tools`` is optional.
- paired_conversation ``{"chosen": {"messages": [...]}, "rejected": {"messages": [...]}, "system": str}``:
  both sides are conversations with the same prompt (every turn but the last assistant reply, and
  the same system prompt). A side given as a bare list of messages, or with its own ``system``
  (LMFlow writes it inside each side), is normalised to the shared top-level ``system``.

Errors are one-line :class:`DataError` messages ``<file>: instance <i>: <what is wrong>; <how to
fix>``; instance indices count from 0, as positions in the ``instances`` list (JSONL: data lines,
header excluded, with the line number given too).
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmbench.errors import DataError

DATASET_TYPES = ("text_only", "text2text", "conversation", "paired_conversation", "paired_text2text")
STRING_FIELDS = {
    "text_only": ("text",),
    "text2text": ("input", "output"),
    "paired_text2text": ("prompt", "chosen", "rejected"),
}
ROLES = ("user", "assistant", "system")


@dataclass(frozen=True)
class LMFlowDataset:
    type: str
    instances: list[dict]  # validated, normalised (conversation: system moved out of messages)
    files: list[Path] = field(default_factory=list)  # every file read, in order
    skipped: int = 0  # source rows a converter dropped as malformed (0 for files loaded as they are)

    def __len__(self) -> int:
        return len(self.instances)


def _check_type(dataset_type: Any, where: str) -> str:
    if dataset_type not in DATASET_TYPES:
        raise DataError(f"{where}: unknown dataset type {dataset_type!r}; use one of {', '.join(DATASET_TYPES)}")
    return dataset_type


def _messages(value: Any, where: str, name: str) -> tuple[list[dict], str]:
    """Validated messages of one conversation, and the system prompt of a leading system message."""
    if not isinstance(value, list) or not value:
        got = "an empty list" if value == [] else type(value).__name__
        raise DataError(f'{where}: {name} is {got}; give a list of {{"role", "content"}} turns starting with the user')
    system, out = "", []
    for index, message in enumerate(value):
        at = f"{name}[{index}]"
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise DataError(
                f'{where}: {at} is not an object with "role" and "content"; write each turn as '
                '{"role": "user"|"assistant", "content": "..."}'
            )
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise DataError(
                f'{where}: {at}.role is {role!r}; use "user" or "assistant" ("system" only as the first message)'
            )
        if not isinstance(content, str):
            raise DataError(
                f"{where}: {at}.content is {type(content).__name__}, not a string; make every content a string"
            )
        if role == "system":
            if index != 0:
                raise DataError(
                    f'{where}: {at} is a system message after the first turn; move it to "system" or the first message'
                )
            system = content
            continue
        expected = "user" if not out or out[-1]["role"] == "assistant" else "assistant"
        if role != expected:
            if not out:
                raise DataError(
                    f"{where}: {at} is an assistant turn before any user turn; a conversation starts with the user"
                )
            raise DataError(
                f"{where}: {name}[{index - 1}] and {at} are both {role} turns; turns must alternate user/assistant"
            )
        out.append(dict(message))
    if not out:
        raise DataError(f"{where}: {name} holds only a system message; add the user turn and the assistant reply")
    if out[-1]["role"] == "user":
        raise DataError(
            f"{where}: conversation ends with a user turn ({name}[{len(value) - 1}]); "
            "the last message must be the assistant's reply that is scored"
        )
    return out, system


def _system(instance: dict, where: str, prefix: str, leading: str) -> str:
    given = instance.get("system")
    if given is None:
        return leading
    if not isinstance(given, str):
        raise DataError(
            f"{where}: {prefix}system is {type(given).__name__}, not a string; give the system prompt as a string"
        )
    if given and leading and given != leading:
        raise DataError(f"{where}: both {prefix}system and a leading system message are set and differ; keep only one")
    return given or leading


def _conversation(instance: Any, where: str, prefix: str = "") -> dict:
    if isinstance(instance, list):  # a bare list of messages (older LMFlow paired files)
        instance = {"messages": instance}
    if not isinstance(instance, dict):
        raise DataError(
            f"{where}: {prefix.rstrip('.') or 'instance'} is {type(instance).__name__}; "
            'expected an object with "messages"'
        )
    if "messages" not in instance:
        raise DataError(f'{where}: missing "{prefix}messages"; a conversation needs a list of user/assistant turns')
    messages, leading = _messages(instance["messages"], where, f"{prefix}messages")
    out = {**instance, "messages": messages, "system": _system(instance, where, prefix, leading)}
    if out.get("tools") is None:
        out.pop("tools", None)
    elif not isinstance(out["tools"], list):
        raise DataError(
            f"{where}: {prefix}tools is {type(out['tools']).__name__}; give tools as a list (or leave it out)"
        )
    return out


def _paired_conversation(instance: dict, where: str) -> dict:
    for side in ("chosen", "rejected"):
        if side not in instance:
            raise DataError(
                f'{where}: missing "{side}"; a paired_conversation instance needs "chosen" and "rejected" conversations'
            )
    chosen, rejected = (_conversation(instance[side], where, f"{side}.") for side in ("chosen", "rejected"))
    shared = _system(instance, where, "", "")
    systems = {s for s in (shared, chosen.pop("system"), rejected.pop("system")) if s}
    if len(systems) > 1:
        raise DataError(f"{where}: chosen and rejected have different system prompts; a pair shares one prompt")
    a, b = ([(m["role"], m["content"]) for m in side["messages"][:-1]] for side in (chosen, rejected))
    if a != b:
        index = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        raise DataError(
            f"{where}: chosen and rejected differ at messages[{index}] before the final reply; "
            "a pair shares every turn but the last assistant reply"
        )
    return {**instance, "chosen": chosen, "rejected": rejected, "system": systems.pop() if systems else ""}


def validate_instance(dataset_type: str, instance: dict, where: str) -> dict:
    """The normalised copy of one instance, or DataError(f"{where}: ...") saying what is wrong."""
    _check_type(dataset_type, where)
    if not isinstance(instance, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(instance).__name__}; each instance is an object")
    if dataset_type == "conversation":
        return _conversation(instance, where)
    if dataset_type == "paired_conversation":
        return _paired_conversation(instance, where)
    for key in STRING_FIELDS[dataset_type]:
        if key not in instance:
            keys = ", ".join(f'"{k}"' for k in STRING_FIELDS[dataset_type])
            raise DataError(f'{where}: missing "{key}"; a {dataset_type} instance needs {keys} (strings)')
        if not isinstance(instance[key], str):
            raise DataError(f'{where}: "{key}" is {type(instance[key]).__name__}, not a string; make it a string')
    return dict(instance)


def _text(path: Path) -> str:
    from lmbench.data.readers import file_errors

    with file_errors(path, "LMFlow .json/.jsonl"):
        data = path.read_bytes()
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start + start}); re-save the file as UTF-8"
        ) from None


def _infer_type(row: dict) -> str | None:
    if "messages" in row:
        return "conversation"
    if "chosen" in row and "rejected" in row:
        return "paired_text2text" if "prompt" in row and isinstance(row["chosen"], str) else "paired_conversation"
    if "input" in row and "output" in row:
        return "text2text"
    return "text_only" if "text" in row else None


def _read_json(path: Path) -> tuple[str, list[tuple[str, Any]]]:
    try:
        doc = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); fix the JSON syntax") from None
    if not isinstance(doc, dict) or "type" not in doc or "instances" not in doc:
        got = f"an object with keys {sorted(doc)}" if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
        raise DataError(f'{path}: got {got}; an LMFlow .json file is {{"type": ..., "instances": [...]}}')
    kind = _check_type(doc["type"], str(path))
    if not isinstance(doc["instances"], list):
        raise DataError(f'{path}: "instances" is {type(doc["instances"]).__name__}; make it a list of instance objects')
    return kind, [(f"{path}: instance {i}", row) for i, row in enumerate(doc["instances"])]


def _read_jsonl(path: Path) -> tuple[str, list[tuple[str, Any]]]:
    kind, rows = None, []
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: instance {len(rows)} (line {number})"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg}); write one JSON object per line") from None
        if kind is None and isinstance(row, dict) and set(row) == {"type"}:  # header: the first line only
            kind = _check_type(row["type"], f"{path}:{number}")
            continue
        if kind is None:
            kind = _infer_type(row) if isinstance(row, dict) else None
            if kind is None:
                raise DataError(
                    f"{where}: cannot tell the dataset type from this instance's keys; "
                    f'add a first line {{"type": ...}} with one of {", ".join(DATASET_TYPES)}'
                )
        rows.append((where, row))
    if kind is None:
        raise DataError(f"{path}: the file has no instances; add one JSON object per line")
    return kind, rows


def _load_file(path: Path) -> LMFlowDataset:
    kind, rows = (_read_jsonl if path.suffix == ".jsonl" else _read_json)(path)
    if not rows:
        raise DataError(f"{path}: the file has no instances; add at least one {kind} instance")
    return LMFlowDataset(kind, [validate_instance(kind, row, where) for where, row in rows], [path])


def load_lmflow(path: str | Path) -> LMFlowDataset:
    """Load a .json file, a .jsonl file, or a directory of them (sorted, non-recursive, one type)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".json", ".jsonl"))
        if not files:
            raise DataError(f"{path}: the directory has no .json or .jsonl files; put LMFlow dataset files in it")
        parts = [_load_file(p) for p in files]
        for part in parts[1:]:
            if part.type != parts[0].type:
                raise DataError(
                    f"{path}: {parts[0].files[0].name} is type {parts[0].type!r} but {part.files[0].name} is type "
                    f"{part.type!r}; a directory loads as one dataset, so keep one type per directory"
                )
        return LMFlowDataset(parts[0].type, [row for part in parts for row in part.instances], files)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; give an LMFlow .json/.jsonl file or a directory of them")
    if path.suffix not in (".json", ".jsonl"):
        raise DataError(f"{path}: not a .json or .jsonl file; LMFlow datasets are .json (or .jsonl) files")
    return _load_file(path)
