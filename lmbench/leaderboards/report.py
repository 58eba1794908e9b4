"""Spec + database -> a Report: the rows, cells, averages, comparisons with bases, lineage and provenance.

Everything a renderer shows is decided here (the training curves in lmbench.leaderboards.curves), so the
Markdown and HTML pages cannot disagree. Values stay in stored units (fractions for accuracies); renderers
multiply by each column's display scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmbench.errors import ConfigError, StoreError
from lmbench.leaderboards import metric_names
from lmbench.leaderboards.curves import TrainingCurve, training_curves
from lmbench.leaderboards.database import Cell, ModelInfo, ResultsView
from lmbench.leaderboards.significance import Comparison, NotTested, compare_cells
from lmbench.leaderboards.spec import Column, ModelRow, Spec, Table
from lmbench.leaderboards.validate import close_hint
from lmbench.store import Store


@dataclass
class Row:
    label: str
    model: ModelInfo
    shots: int | None  # the row's override of every column's shots
    cells: dict[str, Cell | None]  # column label -> number (None: missing)
    average: float | None = None
    base_label: str | None = None  # the row it is compared with (a row of this table or a base-only row)
    comparisons: dict[str, Comparison | NotTested] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # task -> generated answers


@dataclass
class TableReport:
    table: Table
    rows: list[Row]  # the spec's (or every evaluated) model, in order
    bases: list[Row]  # bases compared with that are not rows themselves (shown in the lineage only)


@dataclass
class Report:
    spec: Spec
    db_path: str
    command: str
    tables: list[TableReport]
    runs: dict[str, dict[str, Any]]  # run_id -> provenance, for every run behind a number shown
    notes: list[str]  # problems worth a line on stderr (tasks with no results)
    curves: list[TrainingCurve] = field(default_factory=list)  # per-iteration rewards of the runs behind the rows


def check_against_database(spec: Spec, view: ResultsView) -> list[str]:
    """Unknown metrics are errors (all listed at once); tasks with no results are notes (shown as missing)."""
    problems, notes = [], []
    for table in spec.tables:
        for column in table.columns:
            stored = view.metrics_of(column.task)
            where = f"table {table.id!r}, column {column.label!r}"
            if stored and column.metric not in stored:
                problems.append(f"{where}: task {column.task} has no metric {column.metric!r} in the database"
                                f"{close_hint(column.metric, stored)}; it has {', '.join(stored)}")
            elif not stored:
                expected = metric_names.expected_metrics(column.task)
                if column.metric not in expected:
                    problems.append(f"{where}: {column.metric!r} is not a metric lmbench stores for "
                                    f"{column.task}{close_hint(column.metric, expected)}; expected one of "
                                    f"{', '.join(expected)}")
                notes.append(f"{where}: no finished results for task {column.task!r} in {view.store.path}"
                             f"{close_hint(column.task, view.tasks())}; shown as missing")
    if problems:
        count = f"{len(problems)} problems: " if len(problems) > 1 else ""
        raise ConfigError(f"leaderboard spec {spec.origin}: {count}{'; '.join(problems)}")
    return notes


def build_report(store: Store, spec: Spec, *, command: str = "") -> Report:
    view = ResultsView(store)
    notes = check_against_database(spec, view)
    tables = [_table(view, spec, table) for table in spec.tables]
    used = {c.run_id for t in tables for r in t.rows + t.bases for c in r.cells.values() if c}
    runs = {run_id: view.runs[run_id] for run_id in sorted(used, key=lambda r: view.runs[r]["started_at"])}
    shown = list(dict.fromkeys((r.label, r.model.fingerprint) for t in tables for r in t.rows + t.bases))
    curves = training_curves(store, shown) if spec.training_curves else []
    return Report(spec=spec, db_path=store.path, command=command, tables=tables, runs=runs, notes=notes,
                  curves=curves)


def _table(view: ResultsView, spec: Spec, table: Table) -> TableReport:
    if table.models is not None:
        selectors = [s for s in table.models if s.tables is None or table.id in s.tables]
    else:
        selectors = _every_model(view, [c.task for c in table.columns])
    rows = [_row(view, table, sel, _label(view, sel)) for sel in selectors]
    bases: list[Row] = []
    for row, sel in zip(rows, selectors):
        base = _base(view, table, row, sel, rows, bases)
        if base is not None:
            row.base_label = base.label
            for column in table.columns:
                cand, ref = row.cells[column.label], base.cells[column.label]
                if cand and ref:
                    row.comparisons[column.label] = compare_cells(view, column.task, column.metric, ref, cand,
                                                                  spec.significance)
    if table.examples:
        for row in rows:
            for task in dict.fromkeys(c.task for c in table.columns if row.cells[c.label]):
                cell = next(row.cells[c.label] for c in table.columns if c.task == task and row.cells[c.label])
                frame = view.samples(cell.run_id, task, limit=table.examples)
                row.examples[task] = frame[["doc_id", "prompt", "prediction", "metrics"]].to_dict("records")
    return TableReport(table=table, rows=rows, bases=bases)


def _every_model(view: ResultsView, tasks: list[str]) -> list[ModelRow]:
    """Default rows: each model with a finished result for a column's task, by name then dtype."""
    found = sorted((view.models[f] for f in view.fingerprints_with(tasks)), key=lambda m: (m.name, m.dtype))
    return [ModelRow(model=m.fingerprint, dtype=None, label=None, shots=None, base=None) for m in found]


def _label(view: ResultsView, sel: ModelRow) -> str:
    if sel.label:
        return sel.label
    model = view.find_model(sel.model, sel.dtype)
    same_name = [m for m in view.models.values() if m.name == model.name]
    label = model.name if len(same_name) == 1 else f"{model.name} ({model.dtype})"
    if len([m for m in same_name if m.dtype == model.dtype]) > 1:
        label = f"{label} {model.fingerprint[:8]}"
    return label + (f", {sel.shots}-shot" if sel.shots is not None else "")


def _row(view: ResultsView, table: Table, sel: ModelRow, label: str) -> Row:
    model = view.find_model(sel.model, sel.dtype)
    cells = {c.label: view.cell(model.fingerprint, c.task, c.metric, _shots(sel.shots, c)) for c in table.columns}
    row = Row(label=label, model=model, shots=sel.shots, cells=cells)
    row.average = _average(table, row)
    return row


def _shots(row_shots: int | None, column: Column) -> int | None:
    return row_shots if row_shots is not None else column.shots


def _average(table: Table, row: Row) -> float | None:
    """The aggregate over this row's columns; missing when any column is."""
    agg = table.aggregate
    cells = [row.cells[c.label] for c in table.columns]
    if agg is None or any(c is None for c in cells):
        return None
    if agg.method == "mean":
        weights = [1.0] * len(cells)
    elif agg.weights is not None:
        weights = [agg.weights[c.label] for c in table.columns]
    else:
        weights = [float(c.n or 0) for c in cells]  # type: ignore[union-attr]
    total = sum(weights)
    return sum(w * c.value for w, c in zip(weights, cells)) / total if total else None  # type: ignore[union-attr]


def _base(view: ResultsView, table: Table, row: Row, sel: ModelRow, rows: list[Row], bases: list[Row]) -> Row | None:
    """The row's base: `base:` in the spec (a row label or a model), else the model's recorded base."""
    by_label = {r.label: r for r in rows}
    if sel.base in by_label:
        found = by_label[sel.base]
    elif sel.base:
        try:
            model = view.find_model(sel.base)
        except StoreError as exc:
            raise StoreError(f"row {row.label!r}: base {sel.base!r} is neither a row label of table "
                             f"{table.id!r} ({', '.join(by_label)}) nor a model: {exc}") from None
        found = _row_for(view, table, model, row.shots, rows, bases)
    else:
        target = row.model.lineage.get("base_fingerprint")
        model = view.models.get(target) if target else None
        if model is None and row.model.base_model:
            named = [m for m in view.models.values() if m.name == row.model.base_model]
            model = named[0] if len(named) == 1 else None
        if model is None:
            return None
        found = _row_for(view, table, model, row.shots, rows, bases)
    if found is row:
        raise ConfigError(f"row {row.label!r} of table {table.id!r} names itself as its base; name another row")
    return found


def _row_for(view: ResultsView, table: Table, model: ModelInfo, shots: int | None, rows: list[Row],
             bases: list[Row]) -> Row:
    """The table's row of this model and shots, else a base-only row (its numbers fetched the same way)."""
    for candidate in rows + bases:
        if candidate.model.fingerprint == model.fingerprint and candidate.shots == shots:
            return candidate
    sel = ModelRow(model=model.fingerprint, dtype=None, label=None, shots=shots, base=None)
    extra = _row(view, table, sel, _label(view, sel) + " (base)")
    bases.append(extra)
    return extra
