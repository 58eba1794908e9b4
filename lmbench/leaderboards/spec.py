"""Leaderboard specs: YAML -> frozen dataclasses, every problem reported at once before the database is opened.

A spec names tables; a table names columns (task, metric, shots, label, which way is better, display scale),
how its rows are averaged, which models are its rows (and which base each is compared with), and reference
rows: numbers published elsewhere, shown apart and labelled with their source. `extends: NAME` starts from
another spec (a built-in name or a path) and replaces its top-level keys. `training_curves: false` drops the
training curves section (lmbench.leaderboards.curves), shown by default whenever the database has such runs.
The format is documented with examples in leaderboards/README.md; the built-ins live in
`lmbench/leaderboards/specs/`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmbench.errors import ConfigError
from lmbench.leaderboards.validate import Problems, close_hint

SPEC_DIR = Path(__file__).parent / "specs"
BETTER = ("higher", "lower")
METHODS = ("mean", "weighted")


@dataclass(frozen=True)
class Column:
    task: str
    metric: str
    label: str
    shots: int | None  # None: any shots (the latest finished run)
    better: str  # "higher" | "lower"
    scale: float  # displayed = stored value * scale (100 shows fractions as percent)
    digits: int


@dataclass(frozen=True)
class Aggregate:
    label: str
    method: str  # "mean" | "weighted"
    weights: dict[str, float] | None  # column label -> weight; None with "weighted" = by questions (n)


@dataclass(frozen=True)
class ModelRow:
    model: str  # model name or fingerprint prefix
    dtype: str | None
    label: str | None
    shots: int | None  # overrides every column's shots for this row
    base: str | None  # label of another row, or a model name / fingerprint prefix
    tables: tuple[str, ...] | None = None  # ids of the tables this row appears in (None: all)


@dataclass(frozen=True)
class ReferenceRow:
    label: str
    values: dict[str, float | None]  # column or aggregate label -> value as published
    note: str | None


@dataclass(frozen=True)
class References:
    source: str
    scale: float  # published value = stored-unit value * scale (100: the source gives percent)
    rows: tuple[ReferenceRow, ...]
    url: str | None


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    note: str
    columns: tuple[Column, ...]
    aggregate: Aggregate | None
    references: tuple[References, ...]
    models: tuple[ModelRow, ...] | None  # None: the spec's models, else every model with results
    examples: int  # generated answers shown per row and generation task


@dataclass(frozen=True)
class Significance:
    alpha: float
    resamples: int
    seed: int


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    description: str
    tables: tuple[Table, ...]
    significance: Significance
    origin: str  # the file it was read from
    training_curves: bool = True  # the reward curves of the RAFT/RLOO runs that made the report's models


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


def locate(spec: str, relative_to: Path | None = None) -> Path:
    """A spec argument -> its file: an existing path (relative to `relative_to` for `extends`) or a built-in name."""
    for candidate in ([relative_to / spec] if relative_to else []) + [Path(spec).expanduser()]:
        if candidate.is_file():
            return candidate
    if (SPEC_DIR / f"{spec}.yaml").is_file():
        return SPEC_DIR / f"{spec}.yaml"
    names = builtin_names()
    close = difflib.get_close_matches(spec, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ConfigError(f"no leaderboard spec {spec!r}: not a file and not a built-in; {hint}"
                      f"built-ins: {', '.join(names)} (or pass a path to a spec YAML)")


def _read(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}; fix the syntax "
                          "(the format is in leaderboards/README.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read leaderboard spec {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a leaderboard spec is a YAML mapping with title and tables; got "
                          f"{type(data).__name__}")
    return data


def _merged(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The spec's keys over those of the spec it `extends` (recursively)."""
    if path.resolve() in seen:
        raise ConfigError(f"{path}: `extends` loops back to itself ({' -> '.join(map(str, seen))}); remove one")
    data = _read(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends must be a spec name or path, got {parent!r}")
    return {**_merged(locate(parent, path.parent), seen + (path.resolve(),)), **data}


def load_spec(spec: str) -> Spec:
    """Read, merge and validate a spec; raise ConfigError listing every problem found."""
    path = locate(spec)
    return parse_spec(_merged(path), name=path.stem, origin=str(path))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "table"


def parse_spec(data: dict[str, Any], *, name: str, origin: str) -> Spec:
    """Validate a spec mapping (already merged with what it extends)."""
    p = Problems(origin)
    top = p.keys(data, "spec", required=("title", "tables"),
                 optional=("description", "scale", "models", "significance", "training_curves"))
    scale = p.number(top.get("scale", 1), "scale", positive=True)
    models = _models(p, top.get("models"), "models")
    sig = p.keys(top.get("significance") or {}, "significance", optional=("alpha", "resamples", "seed"))
    significance = Significance(alpha=p.number(sig.get("alpha", 0.05), "significance.alpha", positive=True),
                                resamples=p.integer(sig.get("resamples", 10_000), "significance.resamples", low=100),
                                seed=p.integer(sig.get("seed", 1234), "significance.seed", low=0))
    tables = []
    for i, raw in enumerate(p.items(top.get("tables"), "tables")):
        tables.append(_table(p, raw, f"tables[{i}]", scale, models))
    ids = [t.id for t in tables]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        p.add(f"tables: two tables have the id {dup!r}; give them distinct `id`s")
    for j, row in enumerate(models or ()):
        for table_id in row.tables or ():
            if table_id not in ids:
                p.add(f"models[{j}].tables: no table {table_id!r}{close_hint(table_id, ids)}; tables: {', '.join(ids)}")
    curves = p.boolean(top.get("training_curves", True), "training_curves", "shows the per-iteration reward "
                       "curves of the RAFT/RLOO runs that made the report's models when the database has them")
    title = p.text(top.get("title"), "title")
    p.raise_if_any()
    return Spec(name=name, title=title, description=str(top.get("description") or ""), tables=tuple(tables),
                significance=significance, origin=origin, training_curves=curves)


def _table(p: Problems, raw: Any, where: str, scale: float, models: tuple[ModelRow, ...] | None) -> Table:
    t = p.keys(raw, where, required=("title", "columns"),
               optional=("id", "note", "aggregate", "references", "models", "examples"))
    title = p.text(t.get("title"), f"{where}.title")
    raw_columns = p.items(t.get("columns"), f"{where}.columns")
    columns = tuple(_column(p, c, f"{where}.columns[{j}]", scale) for j, c in enumerate(raw_columns))
    labels = [c.label for c in columns]
    for dup in sorted({x for x in labels if labels.count(x) > 1}):
        p.add(f"{where}.columns: two columns are labelled {dup!r}; give each a distinct `label`")
    aggregate = _aggregate(p, t.get("aggregate"), f"{where}.aggregate", columns) if t.get("aggregate") else None
    keys = labels + ([aggregate.label] if aggregate else [])
    references = tuple(_references(p, r, f"{where}.references[{j}]", keys)
                       for j, r in enumerate(p.items(t.get("references") or [], f"{where}.references", empty_ok=True)))
    own = _models(p, t.get("models"), f"{where}.models")
    return Table(id=str(t.get("id") or _slug(title)), title=title, note=str(t.get("note") or ""), columns=columns,
                 aggregate=aggregate, references=references, models=own if own is not None else models,
                 examples=p.integer(t.get("examples", 0), f"{where}.examples", low=0))


def _column(p: Problems, raw: Any, where: str, default_scale: float) -> Column:
    c = p.keys(raw, where, required=("task", "metric"), optional=("label", "shots", "better", "scale", "digits"))
    task, metric = p.text(c.get("task"), f"{where}.task"), p.text(c.get("metric"), f"{where}.metric")
    better = c.get("better", "higher")
    if better not in BETTER:
        p.add(f"{where}.better: {better!r} is not one of {', '.join(BETTER)}")
    scale = p.number(c.get("scale", default_scale), f"{where}.scale", positive=True)
    shots = c.get("shots")
    return Column(task=task, metric=metric, label=str(c.get("label") or task),
                  shots=None if shots is None else p.integer(shots, f"{where}.shots", low=0),
                  better=str(better), scale=scale,
                  digits=p.integer(c.get("digits", 1 if scale >= 100 else 3), f"{where}.digits", low=0))


def _aggregate(p: Problems, raw: Any, where: str, columns: tuple[Column, ...]) -> Aggregate:
    a = p.keys(raw, where, required=("label",), optional=("method", "weights"))
    method = a.get("method", "mean")
    if method not in METHODS:
        p.add(f"{where}.method: {method!r} is not one of {', '.join(METHODS)}")
    if len({(c.scale, c.better) for c in columns}) > 1:
        p.add(f"{where}: its columns differ in scale or direction (better), so their mean means nothing; "
              "make them agree or drop the aggregate")
    weights = a.get("weights")
    if weights is not None:
        if method != "weighted":
            p.add(f"{where}.weights: given with method {method!r}; set method: weighted or drop weights")
        labels = [c.label for c in columns]
        parsed = {str(k): p.number(v, f"{where}.weights.{k}", positive=True)
                  for k, v in p.mapping(weights, f"{where}.weights").items()}
        p.known_labels(parsed, labels, f"{where}.weights")
        for label in labels:
            if label not in parsed:
                p.add(f"{where}.weights: no weight for column {label!r}")
        weights = parsed
    return Aggregate(label=p.text(a.get("label"), f"{where}.label"), method=str(method), weights=weights)


def _references(p: Problems, raw: Any, where: str, keys: list[str]) -> References:
    r = p.keys(raw, where, required=("source", "scale", "rows"), optional=("url",))
    rows = []
    for j, row in enumerate(p.items(r.get("rows"), f"{where}.rows")):
        w = f"{where}.rows[{j}]"
        fields = p.keys(row, w, required=("model", "values"), optional=("note",))
        values = {str(k): (None if v is None else p.number(v, f"{w}.values.{k}"))
                  for k, v in p.mapping(fields.get("values"), f"{w}.values").items()}
        p.known_labels(values, keys, f"{w}.values")
        rows.append(ReferenceRow(label=p.text(fields.get("model"), f"{w}.model"), values=values,
                                 note=str(fields["note"]) if fields.get("note") else None))
    return References(source=p.text(r.get("source"), f"{where}.source"),
                      scale=p.number(r.get("scale", 1), f"{where}.scale", positive=True), rows=tuple(rows),
                      url=str(r["url"]) if r.get("url") else None)


def _models(p: Problems, raw: Any, where: str) -> tuple[ModelRow, ...] | None:
    if raw is None:
        return None
    rows = []
    for j, item in enumerate(p.items(raw, where)):
        w = f"{where}[{j}]"
        m = p.keys(item if not isinstance(item, str) else {"model": item}, w, required=("model",),
                   optional=("dtype", "label", "shots", "base", "tables"))
        shots, tables = m.get("shots"), m.get("tables")
        rows.append(ModelRow(model=p.text(m.get("model"), f"{w}.model"),
                             dtype=str(m["dtype"]) if m.get("dtype") else None,
                             label=str(m["label"]) if m.get("label") else None,
                             shots=None if shots is None else p.integer(shots, f"{w}.shots", low=0),
                             base=str(m["base"]) if m.get("base") else None,
                             tables=None if tables is None else tuple(str(t) for t in p.items(tables, f"{w}.tables"))))
    labels = [r.label for r in rows if r.label]
    for dup in sorted({x for x in labels if labels.count(x) > 1}):
        p.add(f"{where}: two rows are labelled {dup!r}; labels name rows and must be distinct")
    return tuple(rows)
