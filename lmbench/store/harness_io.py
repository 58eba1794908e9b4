"""lm-evaluation-harness output files <-> the results store.

`import_harness` reads what `lm_eval --output_path DIR --log_samples` writes: `results_<ts>.json` and, beside
it, one `samples_<task>_<ts>.jsonl` per task. On disk the harness stores `arguments` as
`{"gen_args_<i>": {"arg_<j>": ...}}` and every element of `resps`/`filtered_resps` as a string
(`[[["-11.1", "False"]], ...]`, `str(float)` keeps every bit) and `target` as `str(doc_to_target)`; the in-memory
list forms are accepted too. `export_harness` writes that same on-disk layout, plus an `lmbench` block naming the
run, model and task hashes, so re-importing an export reuses them. Pure JSON + pandas: no lm_eval import.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import timezone
from pathlib import Path
from typing import Any

import pandas as pd

from lmbench.errors import DataError, LmbenchError, StoreError
from lmbench.store.store import Store

_BAD_LINE = (KeyError, IndexError, TypeError, ValueError, AttributeError)
_SAMPLE_KEYS = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "doc_hash",
                "prompt_hash", "target_hash"}
_COLUMNS = ["task", "task_hash", "doc_id", "doc_hash", "prompt", "target", "prediction", "choices", "logprobs",
            "metrics", "flagged"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read harness results {path}: {exc.strerror}; pass the results_<ts>.json file") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not JSON ({exc}); pass the results_<ts>.json lm_eval wrote") from exc
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise DataError(f"{path} has no 'results' object; pass the results_<ts>.json lm_eval --output_path wrote")
    return data


def _file_task(path: Path) -> str:
    """`samples_<task>_<stamp>.jsonl` -> task (the stamp, a timestamp or run id, has no '_')."""
    stem = path.name.removeprefix("samples_").removesuffix(".jsonl")
    if not path.name.startswith("samples_") or not path.name.endswith(".jsonl") or "_" not in stem:
        raise DataError(f"{path.name} is not named samples_<task>_<timestamp>.jsonl; pass lm_eval's samples files")
    return stem[: stem.rfind("_")]


def _discover(results_json: Path) -> list[Path]:
    stem = results_json.stem
    if "_" not in stem:
        return []
    suffix = f"_{stem[stem.rfind('_') + 1:]}.jsonl"
    return sorted(p for p in results_json.parent.iterdir() if p.name.startswith("samples_") and p.name.endswith(suffix))


def _order(key: str) -> int:
    return int(key.rsplit("_", 1)[1])  # gen_args_10 sorts after gen_args_9


def _arguments(raw: Any) -> list[list[Any]]:
    if isinstance(raw, dict):  # on disk: {"gen_args_0": {"arg_0": context, "arg_1": continuation}, ...}
        return [[raw[g][a] for a in sorted(raw[g], key=_order)] for g in sorted(raw, key=_order)]
    return [list(args) for args in raw]


def _loglik(resp: Any) -> float:
    """`[(ll, is_greedy)]` (loglikelihood) or `[ll]` (rolling), numbers or the strings the file holds."""
    first = resp[0]
    return float(first[0] if isinstance(first, (list, tuple)) else first)


def _gold(target: Any, choices: list[str]) -> str:
    text = str(target)
    if choices and text.isdigit() and int(text) < len(choices):
        return choices[int(text)]
    return next((c for c in choices if c.strip() == text.strip()), text)


def _sample(line: dict[str, Any], task: str, task_hash: str | None, output_type: str | None) -> dict[str, Any]:
    args = _arguments(line["arguments"])
    filt = line.get("filter") or "none"
    suffix = "" if filt == "none" else f",{filt}"
    names = line["metrics"] if isinstance(line.get("metrics"), list) else [k for k in line if k not in _SAMPLE_KEYS]
    metrics = {f"{n}{suffix}": float(line[n]) for n in names if isinstance(line.get(n), (int, float))}
    row = {"task": task, "task_hash": task_hash, "doc_id": str(line["doc_id"]), "doc_hash": line.get("doc_hash"),
           "prompt": str(args[0][0]), "metrics": metrics, "flagged": False}
    generate = output_type == "generate_until" or any(len(a) > 1 and isinstance(a[1], dict) for a in args)
    if generate:  # generate_until requests are (context, gen_kwargs); the response is text
        return row | {"target": str(line["target"]), "prediction": str(line["filtered_resps"][0])}
    logprobs = [_loglik(r) for r in line["resps"]]
    choices = [str(a[1]) for a in args] if all(len(a) > 1 for a in args) else None
    best = max(range(len(logprobs)), key=logprobs.__getitem__) if logprobs else None
    return row | {"choices": choices, "logprobs": logprobs, "target": _gold(line["target"], choices or []),
                  "prediction": choices[best] if choices and best is not None else None}


def _file_name(task: str, taken: set[str]) -> str:
    """A task name as it may appear in `samples_<task>_<run>.jsonl`: no '/', ':' or spaces (e.g. mcq:dir/q.jsonl)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", task).strip("-.") or "task"
    if safe != task or safe in taken:
        safe = f"{safe}-{hashlib.sha256(task.encode()).hexdigest()[:6]}"
    taken.add(safe)
    return safe


def _read_samples(path: Path, configs: dict[str, Any], hashes: dict[str, str],
                  task: str | None = None) -> list[dict[str, Any]]:
    task = task or _file_task(path)
    output_type = configs.get(task, {}).get("output_type")
    rows: dict[str, dict[str, Any]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read harness samples {path}: {exc}; pass lm_eval's samples_<task>_<ts>.jsonl") from exc
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number} is not JSON ({exc.msg}); fix or re-create the file") from exc
        try:
            row = _sample(line, task, hashes.get(task), output_type)
        except _BAD_LINE as exc:
            raise DataError(f"{path}: line {number} is not an lm_eval sample ({type(exc).__name__}: {exc}); "
                            "expected doc_id, target, arguments, resps, filtered_resps") from exc
        if row["doc_id"] in rows:  # the same doc under another filter: keep its metrics
            rows[row["doc_id"]]["metrics"].update(row["metrics"])
        else:
            rows[row["doc_id"]] = row
    return list(rows.values())


def _number(value: Any) -> float | None:
    """A number, or None for "N/A" (the harness's missing stderr); the harness writes some numbers as strings."""
    try:
        return float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        return None


def _results(data: dict[str, Any], hashes: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for task, entry in data["results"].items():
        n = _dict(_dict(data.get("n-samples")).get(task)).get("effective")
        for key, value in entry.items() if isinstance(entry, dict) else ():
            name, _, filt = key.partition(",")
            if not filt or name.endswith("_stderr") or _number(value) is None:
                continue
            rows.append({"task": task, "task_hash": hashes.get(task), "metric": name if filt == "none" else key,
                         "value": _number(value), "stderr": _number(entry.get(f"{name}_stderr,{filt}")), "n": n})
    return rows


def _exists(store: Store, table: str, column: str, value: Any) -> bool:
    return isinstance(value, str) and not store.query(f"SELECT 1 FROM {table} WHERE {column} = ?", [value]).empty


def import_harness(store: Store, results_json: Path, samples_files: list[Path] | None = None, *,
                   model_name: str | None = None) -> str:
    """Add one lm_eval run (results JSON + per-task samples JSONL) to `store`; return the new run id."""
    results_json = Path(results_json)
    data = _read_json(results_json)
    configs, versions, cfg, block = (_dict(data.get(k)) for k in ("configs", "versions", "config", "lmbench"))
    configs = {task: _dict(task_cfg) for task, task_cfg in configs.items()}
    tasks: dict[str, dict[str, Any]] = {}
    hashes: dict[str, str] = {}
    for task, task_cfg in configs.items():
        version = str(versions.get(task, _dict(task_cfg.get("metadata")).get("version", "unknown")))
        reuse = (block.get("task_hashes") or {}).get(task)
        hashes[task] = reuse if _exists(store, "tasks", "task_hash", reuse) else _hash({"config": task_cfg,
                                                                                       "version": version})
        if hashes[task] != reuse:
            tasks[task] = {"task_hash": hashes[task], "name": task, "version": version, "family": "lm_eval",
                           "config": task_cfg}
    files = _discover(results_json) if samples_files is None else [Path(p) for p in samples_files]
    renamed = _dict(block.get("sample_files"))  # lmbench exports: file name -> task, for names unfit for a file

    def task_of(path: Path) -> str:
        return str(renamed[path.name]) if path.name in renamed else _file_task(path)

    known = set(configs) | set(data["results"])
    unknown = [p.name for p in files if task_of(p) not in known]
    if unknown:
        raise DataError(f"samples files {unknown} are for tasks {results_json} does not list; pass matching files")
    samples = pd.DataFrame([row for p in files for row in _read_samples(p, configs, hashes, task_of(p))],
                           columns=_COLUMNS)
    results = pd.DataFrame(_results(data, hashes), columns=["task", "task_hash", "metric", "value", "stderr", "n"])
    identity = {k: cfg.get(k) for k in ("model", "model_args", "model_revision", "model_sha", "model_dtype")}
    identity["model_name"] = data.get("model_name")
    fingerprint = block.get("model_fingerprint")
    if not _exists(store, "models", "fingerprint", fingerprint):
        fingerprint = _hash(identity)
        args = cfg.get("model_args")
        pretrained = args.get("pretrained") if isinstance(args, dict) else next(
            (a.split("=", 1)[1] for a in str(args or "").split(",") if a.startswith("pretrained=")), None)
        n_params = cfg.get("model_num_parameters")
        store.upsert_model(fingerprint=fingerprint, name=str(model_name or data.get("model_name") or pretrained
                                                             or cfg.get("model") or "harness model"),
                           source=str(cfg.get("model") or "harness"), kind="harness",
                           revision=cfg.get("model_sha") or cfg.get("model_revision") or None,
                           dtype=str(cfg.get("model_dtype") or "unknown").removeprefix("torch."),
                           n_params=n_params if isinstance(n_params, int) else None,  # type: ignore[arg-type]
                           base_model=None, lineage={"imported_from": str(results_json)}, identity=identity)
    for task_row in tasks.values():
        store.upsert_task(**task_row)
    seed = cfg.get("random_seed")
    lib = {"lm_eval": data.get("lm_eval_version"), "transformers": data.get("transformers_version")}
    run_id = store.start_run(model_fingerprint=str(fingerprint), config=cfg, seed=seed if isinstance(seed, int) else 0,
                             device=str(cfg.get("device") or "unknown"), command=f"lm_eval import of {results_json}",
                             versions={k: str(v) for k, v in lib.items() if v}, git_sha=data.get("git_hash"))
    try:
        store.write_samples(run_id, samples)
        store.write_results(run_id, results)
    except (LmbenchError, ValueError) as exc:
        store.finish_run(run_id, status="failed", timings={}, error=str(exc)[:500])
        raise
    total = _number(data.get("total_evaluation_time_seconds"))
    store.finish_run(run_id, status="done", timings={"total": total} if total is not None else {})
    return run_id


def _sample_line(s: Any, int_ids: bool) -> dict[str, Any]:
    choices, logprobs, metrics = s.choices or [], s.logprobs, s.metrics or {}
    prompt, target = s.prompt or "", "" if s.target is None else str(s.target)
    gold = str(choices.index(target)) if target in choices else target
    if logprobs is None:  # generation: the harness keeps (context, gen_kwargs) and the generated text
        args, resps, filtered = [[prompt, {}]], [[s.prediction]], [s.prediction]
    else:
        args = [[prompt, c] for c in choices] if choices else [[prompt] for _ in logprobs]
        filtered = [[str(float(lp)), "False"] if choices else str(float(lp)) for lp in logprobs]
        resps = [[f] for f in filtered]
    return {"doc_id": int(s.doc_id) if int_ids else s.doc_id, "target": gold,
            "arguments": {f"gen_args_{i}": {f"arg_{j}": a for j, a in enumerate(arg)} for i, arg in enumerate(args)},
            "resps": resps, "filtered_resps": filtered, "filter": "none", "metrics": list(metrics),
            "doc_hash": s.doc_hash, "prompt_hash": hashlib.sha256(prompt.encode()).hexdigest(),
            "target_hash": hashlib.sha256(gold.encode()).hexdigest(), **metrics}


def export_harness(store: Store, run_id: str, out_dir: Path, *, inputs: Iterable[str | Path | None] = (),
                   force: bool = False) -> list[Path]:
    """Write run `run_id` as lm_eval's results_<run_id>.json + samples_<task>_<run_id>.jsonl; return the paths.

    The folder is written under lmbench.outputs' policy (staged, moved in whole, never over a foreign file);
    a task name unfit for a file name (`mcq:dir/q.jsonl`) is made safe and the `lmbench` block maps it back."""
    from lmbench.outputs import output_folder

    runs = store.runs()
    if run_id not in set(runs["run_id"]):
        raise StoreError(f"run {run_id!r} is not in {store.path}; list runs with `lmbench runs`")
    run = runs[runs["run_id"] == run_id].iloc[0]
    run_cfg, versions = run["config"] or {}, run["versions"] or {}
    models = store.models().set_index("fingerprint")
    tasks = store.tasks().set_index("task_hash")
    results, samples = store.results(run_id), store.samples(run_id)
    hashes = {t: h for frame in (results, samples) for t, h in zip(frame["task"], frame["task_hash"])
              if isinstance(h, str)}
    out: dict[str, Any] = {"results": {}, "configs": {}, "versions": {}, "n-shot": {}, "n-samples": {}}
    for r in results.itertuples():
        name, _, filt = r.metric.partition(",")
        entry = out["results"].setdefault(r.task, {"alias": r.task})
        entry[f"{name},{filt or 'none'}"] = None if pd.isna(r.value) else float(r.value)
        entry[f"{name}_stderr,{filt or 'none'}"] = "N/A" if pd.isna(r.stderr) else float(r.stderr)
    for task in dict.fromkeys([*samples["task"], *hashes]):
        out["results"].setdefault(task, {"alias": task})
        if hashes.get(task) in tasks.index:
            cfg = tasks.loc[hashes[task], "config"] or {}
            out["configs"][task], out["versions"][task] = cfg, tasks.loc[hashes[task], "version"]
            shots = cfg.get("num_fewshot", cfg.get("shots", (run_cfg.get("task_shots") or {}).get(task, 0)))
            out["n-shot"][task] = shots
        n = int((samples["task"] == task).sum())
        out["n-samples"][task] = {"original": n, "effective": n}
    model = models.loc[run["model_fingerprint"]] if run["model_fingerprint"] in models.index else None
    started = run["started_at"].replace(tzinfo=timezone.utc).timestamp()
    out |= {"config": run_cfg, "git_hash": run["git_sha"], "date": started,
            "lm_eval_version": versions.get("lm_eval"), "transformers_version": versions.get("transformers"),
            "model_name": None if model is None else model["name"],
            "lmbench": {"run_id": run_id, "model_fingerprint": run["model_fingerprint"], "task_hashes": hashes,
                        "status": run["status"], "versions": versions}}
    taken: set[str] = set()
    names = {task: _file_name(str(task), taken) for task in dict.fromkeys(samples["task"])}
    if any(safe != task for task, safe in names.items()):
        out["lmbench"]["sample_files"] = {f"samples_{safe}_{run_id}.jsonl": task for task, safe in names.items()}
    with output_folder(Path(out_dir), inputs=inputs, force=force) as folder:
        folder.write_text(f"results_{run_id}.json", json.dumps(out, indent=2, ensure_ascii=False, default=str))
        for task, group in samples.groupby("task", sort=False):
            int_ids = all(d.isdigit() and str(int(d)) == d for d in group["doc_id"])  # one type per file, as lm_eval
            folder.write_text(f"samples_{names[task]}_{run_id}.jsonl",
                              "".join(json.dumps(_sample_line(s, int_ids), ensure_ascii=False) + "\n"
                                      for s in group.itertuples()))
    return folder.written
