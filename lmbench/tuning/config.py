"""Typed recipe configs: a YAML mapping -> a dataclass, every problem reported at once.

`build_config(cls, raw, where)` checks every key of `raw` against the dataclass fields of `cls`:
unknown keys (with the close names), wrong types (int, float, str, bool, lists of them, Optional,
Literal choices) and missing required keys, then runs the config's own `problems()` (cheap checks
such as files that must exist). All problems go into one `RecipeError` on one line. Recipe configs
subclass `RecipeConfig` (the keys every recipe shares); align's reward/RAFT/DPO configs do too.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from lmbench.errors import ConfigError

class RecipeError(ConfigError):
    """A recipe (file, name or key=value override) that cannot run; the message lists every problem."""


def join_problems(where: str, problems: list[str]) -> str:
    """One line: `where: 2 problems: (1) ...; (2) ...` (or `where: ...` for one)."""
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    listed = "; ".join(f"({i}) {p}" for i, p in enumerate(problems, start=1))
    return f"{where}: {len(problems)} problems: {listed}"


@dataclass
class RecipeConfig:
    """Keys shared by every recipe. `required_keys` lists keys with no usable default."""

    kind: str = "lm"
    description: str = ""
    model: str = "default"
    output_dir: str = ""
    seed: int = 1234
    db: Union[str, None] = None

    required_keys: typing.ClassVar[tuple[str, ...]] = ("output_dir",)
    # Keys that do not change the trained weights: left out of the recipe hash.
    non_training_keys: typing.ClassVar[tuple[str, ...]] = ("description", "output_dir", "db")

    def problems(self) -> list[str]:
        """Cheap semantic checks (no model, no tokenizer); each problem a short phrase with its fix."""
        return []

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def recipe_hash(self) -> str:
        """Hash of the keys that decide the trained weights (16 hex)."""
        keep = {k: v for k, v in self.to_dict().items() if k not in self.non_training_keys}
        return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(tp, str(tp))


def coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """(ok, value converted to `tp`): ints pass as floats, a comma string or scalar as a one-element list."""
    origin = get_origin(tp)
    if tp is Any:
        return True, value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return True, None
        for arg in get_args(tp):
            if arg is type(None):
                continue
            ok, out = coerce(value, arg)
            if ok:
                return True, out
        return False, value
    if origin is Literal:
        return (value in get_args(tp)), value
    if origin is list:
        (item,) = get_args(tp)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif not isinstance(value, (list, tuple)):
            value = [value]
        out = []
        for v in value:
            ok, c = coerce(v, item)
            if not ok:
                return False, value
            out.append(c)
        return True, out
    if origin is dict:
        return isinstance(value, dict), value
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                return False, value
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if tp is str:
        return isinstance(value, str), value
    return isinstance(value, tp), value


def build_config(cls: type[RecipeConfig], raw: dict[str, Any], where: str) -> RecipeConfig:
    """The typed config of `raw`, or RecipeError listing every problem (unknown, wrong type, missing, semantic)."""
    hints = get_type_hints(cls)
    known = [f.name for f in fields(cls) if f.init and not f.name.startswith("_")]
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}?" if close else f"known keys: {', '.join(sorted(known))}"
            problems.append(f"unknown key {key!r} ({hint})")
            continue
        ok, converted = coerce(value, hints[key])
        if not ok:
            problems.append(f"{key} is {value!r}; expected {_type_name(hints[key])}")
            continue
        values[key] = converted
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    for key in cls.required_keys:
        if values.get(key, defaults.get(key)) in (None, "", []):
            problems.append(f"{key} is missing; set it in the recipe or as {key}=VALUE")
    config = cls(**values)  # keys with a wrong type keep their defaults so the semantic checks still run
    problems += config.problems()
    if problems:
        raise RecipeError(join_problems(where, problems))
    return config
