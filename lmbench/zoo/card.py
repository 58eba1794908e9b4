"""Model cards from the database: YAML metadata (base_model, model-index with n and CI), lineage, commands.

The card is written by lmbench (not `ModelCard.push_to_hub`, which validates against the public Hub):
`huggingface_hub.ModelCardData` renders the metadata, so the card parses back with `ModelCard`. Each
model-index metric carries its database provenance in `args` (n, stderr, 95% CI, run id); results are
the latest finished run's value per task and metric for the model's fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class CardFacts:
    repo: str
    kind: str  # "delta" | "adapter"
    fingerprint: str  # of the model the card describes (the recovered target, or adapter + base)
    base_name: str
    base_fingerprint: str
    base_model: str  # Hub id (or name) for the `base_model` metadata
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    lineage: list[dict[str, Any]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # evaluation commands that reproduce the results
    db: str = ""
    sizes: dict[str, int] = field(default_factory=dict)
    base_results: pd.DataFrame = field(default_factory=pd.DataFrame)  # the base's latest values, for comparison


def latest_results(db: Path, fingerprint: str) -> tuple[pd.DataFrame, list[str], list[dict[str, Any]]]:
    """(latest value per task and metric, eval commands of those runs, lineage edges) for a fingerprint."""
    if not Path(db).is_file():
        return pd.DataFrame(), [], []
    from lmbench.store import Store
    from lmbench.store.queries import results_frame

    with Store(db, read_only=True) as store:
        frame = results_frame(store, model=fingerprint)
        frame = frame[(frame["fingerprint"] == fingerprint) & (frame["status"] == "done")]
        frame = frame.sort_values("started_at").drop_duplicates(["task", "metric"], keep="last")
        runs = store.query("SELECT run_id, config FROM runs WHERE run_id IN (SELECT unnest(?))",
                           [sorted(set(frame["run_id"]))])
        lineage = _lineage(store, fingerprint)
    return frame.sort_values(["task", "metric"]).reset_index(drop=True), [_eval_args(c) for c in runs["config"]], lineage


def _lineage(store: Any, fingerprint: str) -> list[dict[str, Any]]:
    """Edges child -> parent up to the root: Store.ancestry when the store has it, else the models' lineage JSON."""
    if hasattr(store, "ancestry"):
        frame = store.ancestry(fingerprint)
        return [{"child": r.child, "parent": r.parent, "relation": r.relation} for r in frame.itertuples()]
    import json

    edges, seen, current = [], set(), fingerprint
    while current and current not in seen:
        seen.add(current)
        row = store.query("SELECT lineage FROM models WHERE fingerprint = ?", [current])
        lineage = json.loads(row.iloc[0, 0]) if not row.empty and row.iloc[0, 0] else {}
        parent = lineage.get("base_fingerprint")
        if not parent:
            break
        edges.append({"child": current, "parent": parent, "relation": lineage.get("relation", "base")})
        current = parent
    return edges


def _eval_args(config: Any) -> str:
    import json

    config = json.loads(config) if isinstance(config, str) else config
    parts = [f"--tasks {config['tasks']}"]
    for key, flag in (("shots", "--shots"), ("limit", "--limit"), ("sample", "--sample")):
        if config.get(key) is not None:
            parts.append(f"{flag} {config[key]}")
    if config.get("sample") is not None:
        parts.append(f"--seed {config['seed']}")
    if config.get("data_dir"):
        parts.append("--data-dir DATA_DIR")  # the run read local benchmark files (layout in lmbench's README)
    return " ".join(parts)


def _eval_results(results: pd.DataFrame) -> list[Any]:
    from huggingface_hub import EvalResult

    out = []
    for r in results.itertuples():
        args = {"n": int(r.n) if pd.notna(r.n) else None, "stderr": _num(r.stderr), "ci95": [_num(r.ci_low), _num(r.ci_high)],
                "run_id": r.run_id, "shots": int(r.shots) if r.shots is not None and pd.notna(r.shots) else None,
                "source": "lmbench"}
        out.append(EvalResult(task_type="text-generation", task_name=r.task, dataset_type=r.task, dataset_name=r.task,
                              metric_type=r.metric, metric_name=r.metric, metric_value=float(r.value),
                              metric_args=args))
    return out


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 6)


def render_card(facts: CardFacts) -> str:
    """The README.md of the published repository."""
    from huggingface_hub import ModelCardData

    name = facts.repo.split("/")[-1]
    data = ModelCardData(model_name=name, base_model=facts.base_model, library_name="transformers",
                         tags=["lmbench", f"lmbench-{facts.kind}"], eval_results=_eval_results(facts.results) or None,
                         lmbench={"kind": facts.kind, "fingerprint": facts.fingerprint,
                                  "base_fingerprint": facts.base_fingerprint, "lineage": facts.lineage})
    lines = ["---", data.to_yaml(), "---", "", f"# {name}", ""]
    if facts.kind == "delta":
        lines += [f"Exact delta weights against **{facts.base_name}** (fingerprint `{facts.base_fingerprint}`): "
                  "not a model by itself. Each tensor is the wrapping difference of the target's and the base's "
                  "integer bit patterns, so recovery is bit-identical; `zoo_delta.json` holds the sha256 of every "
                  "base, delta and recovered tensor, and apply-delta refuses a wrong base naming the first tensor "
                  "that differs.", ""]
    else:
        lines += [f"LoRA adapter (peft) for **{facts.base_name}** (fingerprint `{facts.base_fingerprint}`), "
                  "published as trained.", ""]
    target = "MODEL_DIR" if facts.kind == "delta" else "ADAPTER_DIR"
    lines += ["## Recover and evaluate", "", "```bash",
              f"lmbench zoo pull {facts.repo} --base BASE_DIR --out {target}   # BASE_DIR: {facts.base_name}"]
    evals = facts.commands or ["--tasks lmbench_sample"]
    base_flag = " --base BASE_DIR" if facts.kind == "adapter" else ""
    lines += [f"lmbench eval {target}{base_flag} {args}" for args in evals]
    lines += ["```", "", f"The recovered model's lmbench fingerprint is `{facts.fingerprint}`.", ""]
    lines += ["## Results", ""]
    if facts.results.empty:
        lines += [f"No finished lmbench runs of `{facts.fingerprint}` in the database.", ""]
    else:
        lines += [f"From the lmbench database (`{Path(facts.db).name}`): latest finished run per task and metric; "
                  "95% confidence intervals; `base`: the base model's latest value (same task and metric; its "
                  "questions may differ if its run used other options).", "",
                  "| task | metric | value | n | 95% CI | shots | base | run |", "|---|---|---|---|---|---|---|---|"]
        base = {(r.task, r.metric): r.value for r in facts.base_results.itertuples()} if not facts.base_results.empty else {}
        for r in facts.results.itertuples():
            ci = f"{r.ci_low:.4f} - {r.ci_high:.4f}" if pd.notna(r.ci_low) and pd.notna(r.ci_high) else "-"
            shots = "-" if r.shots is None or pd.isna(r.shots) else str(r.shots)
            before = f"{base[(r.task, r.metric)]:.4f}" if (r.task, r.metric) in base else "-"
            lines.append(f"| {r.task} | {r.metric} | {r.value:.4f} | {r.n} | {ci} | {shots} | {before} | {r.run_id[:8]} |")
        lines.append("")
    lines += ["## Lineage", ""]
    edges = facts.lineage or [{"child": facts.fingerprint, "parent": facts.base_fingerprint, "relation": facts.kind}]
    lines += [f"- `{e['child']}` <- {e['relation']} <- `{e['parent']}`" for e in edges]
    lines.append("")
    if facts.sizes:
        lines += [f"Delta size: {facts.sizes['delta_bytes'] / 1e6:.1f} MB for a {facts.sizes['target_bytes'] / 1e6:.1f} "
                  "MB model.", ""]
    return "\n".join(lines)
