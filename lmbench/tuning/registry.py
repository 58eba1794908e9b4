"""Recipe registry: a recipe kind is a config class + a run function; recipe files are YAML naming a kind.

A recipe file is a YAML mapping of config keys. Its `kind` picks the registered recipe kind; without
one, the file's stem if that is a registered kind, else `lm` (pretraining and SFT). `extends: NAME`
starts from a built-in recipe (or another file) and overrides its keys. Built-in recipes are the YAML
files packaged in `lmbench/tuning/recipes/` (identical copies of the top-level `tuning/` folder).
A new kind is one module calling `register_recipe(...)`, listed in `_RECIPE_MODULES`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lmbench.tuning.config import RecipeConfig, RecipeError, build_config, join_problems

RECIPE_DIR = Path(__file__).parent / "recipes"
_RECIPE_MODULES = ("lmbench.tuning.lm_recipe", "lmbench.tuning.align_recipes")  # modules that call register_recipe (import is cheap: no torch)


@dataclass(frozen=True)
class Recipe:
    name: str
    config_cls: type[RecipeConfig]
    run: Callable[[Any], Any]
    summary: str


RECIPES: dict[str, Recipe] = {}


def register_recipe(name: str, config_cls: type[RecipeConfig], run_fn: Callable[[Any], Any], summary: str) -> None:
    """Register a recipe kind: YAML files with `kind: NAME` validate into `config_cls` and run with `run_fn(config)`."""
    RECIPES[name] = Recipe(name, config_cls, run_fn, summary)


def _load_modules() -> None:
    for module in _RECIPE_MODULES:
        importlib.import_module(module)


def recipe(kind: str) -> Recipe:
    _load_modules()
    if kind not in RECIPES:
        close = difflib.get_close_matches(kind, list(RECIPES), n=3)
        hint = f"did you mean {' or '.join(close)}?" if close else f"registered kinds: {', '.join(sorted(RECIPES))}"
        raise RecipeError(f"unknown recipe kind {kind!r} ({hint})")
    return RECIPES[kind]


def builtin_recipes() -> dict[str, Path]:
    """Built-in recipe name -> packaged YAML file."""
    return {p.stem: p for p in sorted(RECIPE_DIR.glob("*.yaml"))}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc}; give a readable YAML file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise RecipeError(f"{path}{at}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a YAML mapping of keys (model: ..., data: ...), "
                          f"not a {type(data).__name__}")
    return data


def _resolve(name_or_path: str) -> tuple[str, Path]:
    """(recipe name, file): a built-in name or an existing YAML path."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path.stem, path
    builtins = builtin_recipes()
    if name_or_path in builtins:
        return name_or_path, builtins[name_or_path]
    close = difflib.get_close_matches(name_or_path, list(builtins), n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else f"built-in recipes: {', '.join(builtins)}"
    raise RecipeError(f"recipe {name_or_path!r} is neither a built-in recipe nor a YAML file ({hint}; "
                      "`lmbench tune --list` shows them)")


def _raw(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[str, Path, dict[str, Any]]:
    name, path = _resolve(name_or_path)
    if str(path) in seen:
        raise RecipeError(f"{path}: `extends` loops back to itself; remove the cycle")
    raw = _read_yaml(path)
    parent = raw.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise RecipeError(f"{path}: extends is {parent!r}; give the name of a recipe or a YAML path")
        _, _, base = _raw(parent, seen + (str(path),))
        raw = {**base, **raw}
    return name, path, raw


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """`key=value` strings -> values parsed as YAML scalars/lists (`lora_r=16`, `data=a.json,b.json`)."""
    out: dict[str, Any] = {}
    bad = []
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            bad.append(item)
            continue
        try:
            out[key.strip()] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            out[key.strip()] = text
    if bad:
        raise RecipeError(f"override(s) {', '.join(repr(b) for b in bad)} are not KEY=VALUE; write e.g. max_steps=100")
    return out


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> RecipeConfig:
    """Recipe name or YAML file + `key=value` overrides -> the validated, typed config (every problem at once)."""
    name, path, raw = _raw(name_or_path)
    raw = {**raw, **parse_overrides(list(overrides or []))}
    _load_modules()
    kind = raw.get("kind") or (name if name in RECIPES else "lm")
    if not isinstance(kind, str):
        raise RecipeError(join_problems(str(path), [f"kind is {kind!r}; expected one of {', '.join(sorted(RECIPES))}"]))
    raw["kind"] = kind
    config = build_config(recipe(kind).config_cls, raw, f"recipe {name}")
    config._recipe_name = name  # type: ignore[attr-defined]
    config._recipe_file = str(path)  # type: ignore[attr-defined]
    return config


def recipe_name(config: RecipeConfig) -> str:
    return getattr(config, "_recipe_name", config.kind)


def run_recipe(config: RecipeConfig) -> Any:
    """Run a loaded config with its kind's run function."""
    return recipe(config.kind).run(config)


def list_recipes() -> list[tuple[str, str, str]]:
    """(name, kind, one-line description) of every built-in recipe."""
    rows = []
    for name, path in builtin_recipes().items():
        raw = _raw(name)[2]
        _load_modules()
        kind = raw.get("kind") or (name if name in RECIPES else "lm")
        summary = raw.get("description") or (RECIPES[kind].summary if kind in RECIPES else "")
        rows.append((name, str(kind), str(summary).strip().splitlines()[0] if summary else ""))
    return rows
