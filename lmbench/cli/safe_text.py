"""User strings (model, task and file names) shown as they are: never as rich markup, never as terminal codes."""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def visible(text: object, *, one_line: bool = False) -> str:
    """`text` with control characters (escape sequences, carriage returns; newlines too if `one_line`) written
    as `\\xNN`, so a name cannot recolour, move or clear what the terminal shows."""
    return (_CONTROL_OR_NEWLINE if one_line else _CONTROL).sub(_escape, str(text))


def plain(text: object) -> Text:
    """A rich Text that rich prints literally: `[red]x` and `[/x]` stay as typed."""
    return Text(visible(text))
