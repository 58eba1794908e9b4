"""Run lmbench's multiple-choice tasks through the real lm-evaluation-harness, for parity checks.

Each task's harness config is the harness's own YAML (``lm_eval/tasks/...``), included by
absolute path so prompts, choices, delimiters and few-shot samplers are exactly the
harness's; only the data source is swapped for local files converted to temporary JSONL
(the schema of the Hub dataset that YAML expects). ``run_harness`` returns the per-sample
choice log-likelihoods and the harness's own ``acc``/``acc_norm``.

Few-shot pools: MMLU ``dev`` (first k, as the harness); MedMCQA the validation split itself
(harness default sampler, the evaluated doc excluded); PubMedQA the PQA-L ids outside the
test split; MedQA ``medqa/dev.jsonl`` when present, else the test split (doc excluded).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmbench.errors import CheckpointError, DataError, TaskError

_LETTERS = ["A", "B", "C", "D"]
_MMLU_HEADER = ["question", "choice0", "choice1", "choice2", "choice3", "answer"]
_SEEDS = {"random_seed": 0, "numpy_random_seed": 1234, "torch_random_seed": 1234, "fewshot_random_seed": 1234}


@dataclass(frozen=True)
class HarnessSample:
    doc_index: int  # 0-based position in the evaluated split, in file order
    loglikelihoods: list[float]  # one per choice, in choice order
    pred: int  # argmax of loglikelihoods (harness acc prediction)
    gold: int
    prompt: str  # the full context string the harness built (incl. description + shots)


@dataclass(frozen=True)
class HarnessRun:
    task: str
    samples: list[HarnessSample]
    metrics: dict[str, float]  # acc, acc_norm as the harness reports them
    wall_s: float  # wall time of simple_evaluate only


@dataclass(frozen=True)
class _Spec:
    harness_yaml: str  # relative to lm_eval/tasks
    splits: dict[str, list[dict[str, Any]]]  # harness split name -> docs in the harness's schema
    eval_split: str
    fewshot_split: str
    choices: list[str]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"missing benchmark file {path}; point data_dir at the shared data folder (see its README)")
    return path


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with _require(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def mmlu_rows(path: Path, subject: str) -> list[dict[str, Any]]:
    """Rows of an MMLU CSV (with the shared header, or the original header-less letter form) in the schema of
    the Hub's `cais/mmlu`: question, subject, choices, answer (0-3)."""
    with _require(path).open(newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh) if row]
    if rows and rows[0] == _MMLU_HEADER:
        rows = rows[1:]
    docs = []
    for number, row in enumerate(rows, start=1):
        answer = row[-1].strip() if len(row) == 6 else ""
        if answer in _LETTERS:
            answer = str(_LETTERS.index(answer))
        if answer not in {"0", "1", "2", "3"}:
            raise DataError(f"{path}: row {number} is not question,4 choices,answer (0-3 or A-D); fix the file")
        docs.append({"question": row[0], "subject": subject, "choices": row[1:5], "answer": int(answer)})
    return docs


def _medmcqa(data_dir: Path) -> _Spec:
    docs = []
    for row in _read_jsonl(data_dir / "medmcqa" / "dev.jsonl"):
        if row.get("cop") not in (1, 2, 3, 4):  # this file counts from 1; the Hub copy the YAML expects from 0
            raise DataError(f"medmcqa/dev.jsonl: cop {row.get('cop')!r} of id {row.get('id')} is not 1-4")
        docs.append({k: row[k] for k in ("id", "question", "opa", "opb", "opc", "opd")} | {"cop": row["cop"] - 1})
    return _Spec("medmcqa/medmcqa.yaml", {"validation": docs}, "validation", "validation", _LETTERS)


def _pubmedqa(data_dir: Path) -> _Spec:
    folder = data_dir / "pubmedqa"
    labelled = json.loads(_require(folder / "ori_pqal.json").read_text(encoding="utf-8"))
    test_ids = list(json.loads(_require(folder / "test_ground_truth.json").read_text(encoding="utf-8")))
    missing = [pmid for pmid in test_ids if pmid not in labelled]
    if missing:
        raise DataError(f"pubmedqa: test ids {missing[:3]} are not in ori_pqal.json; use the matching PQA-L files")

    def doc(pmid: str) -> dict[str, Any]:
        row = labelled[pmid]
        return {"pubid": pmid, "QUESTION": row["QUESTION"], "CONTEXTS": row["CONTEXTS"],
                "final_decision": row["final_decision"]}

    test_set = set(test_ids)
    train = [doc(pmid) for pmid in labelled if pmid not in test_set]
    return _Spec("pubmedqa/pubmedqa.yaml", {"test": [doc(p) for p in test_ids], "train": train}, "test", "train",
                 ["yes", "no", "maybe"])


def _medqa_rows(path: Path) -> list[dict[str, Any]]:
    docs = []
    for number, row in enumerate(_read_jsonl(path), start=1):
        options = row.get("options", {})
        if sorted(options) != _LETTERS or row.get("answer_idx") not in _LETTERS:
            raise DataError(f"{path}: row {number} needs options A-D and answer_idx A-D; use the 4-option MedQA file")
        endings = {f"ending{i}": options[letter] for i, letter in enumerate(_LETTERS)}
        docs.append({"sent1": row["question"], **endings, "label": _LETTERS.index(row["answer_idx"])})
    return docs


def _medqa(data_dir: Path) -> _Spec:
    splits = {"test": _medqa_rows(data_dir / "medqa" / "test.jsonl")}
    if (data_dir / "medqa" / "dev.jsonl").is_file():
        splits["validation"] = _medqa_rows(data_dir / "medqa" / "dev.jsonl")
    fewshot = "validation" if "validation" in splits else "test"
    return _Spec("medqa/medqa.yaml", splits, "test", fewshot, _LETTERS)


def _spec(task: str, data_dir: Path) -> _Spec:
    if task.startswith("mmlu_"):
        subject = task.removeprefix("mmlu_")
        folder = data_dir / "mmlu"
        if not (folder / "test" / f"{subject}_test.csv").is_file():
            raise TaskError(f"unknown MMLU subject {subject!r}: no {folder}/test/{subject}_test.csv")
        splits = {"test": mmlu_rows(folder / "test" / f"{subject}_test.csv", subject),
                  "dev": mmlu_rows(folder / "dev" / f"{subject}_dev.csv", subject)}
        return _Spec(f"mmlu/default/mmlu_{subject}.yaml", splits, "test", "dev", _LETTERS)
    builders = {"medmcqa": _medmcqa, "pubmedqa": _pubmedqa, "medqa": _medqa}
    if task not in builders:
        raise TaskError(f"harness reference has no task {task!r}; use mmlu_<subject>, medmcqa, pubmedqa or medqa")
    return builders[task](data_dir)


def _write_task(task: str, spec: _Spec, root: Path) -> Path:
    """Write the split JSONL files and a YAML that includes the harness's own config; return the YAML folder."""
    import lm_eval.tasks
    import yaml

    harness_yaml = Path(lm_eval.tasks.__file__).parent / spec.harness_yaml
    if not harness_yaml.is_file():
        raise TaskError(f"installed lm_eval has no {spec.harness_yaml}; install lm_eval 0.4.13 for parity runs")
    (root / "data").mkdir()
    (root / "tasks").mkdir()
    files = {}
    for split, docs in spec.splits.items():
        files[split] = str(root / "data" / f"{split}.jsonl")
        with open(files[split], "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs)
    config = {
        "include": str(harness_yaml),
        "task": task,
        "dataset_path": "json",
        "dataset_name": None,
        "dataset_kwargs": {"data_files": files, "cache_dir": str(root / "hf_cache")},
        "training_split": "train" if "train" in spec.splits else None,
        "validation_split": "validation" if "validation" in spec.splits else None,
        "test_split": spec.eval_split,
        "fewshot_split": spec.fewshot_split,
        "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in ("acc", "acc_norm")],
    }
    (root / "tasks" / f"{task}.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return root / "tasks"


def load_hflm(model_path: str, **kwargs: Any) -> Any:
    """The harness's own HFLM on a local folder (no Hub lookup for its commit)."""
    from lm_eval.models.huggingface import HFLM

    class _LocalHFLM(HFLM):  # type: ignore[misc]
        def get_model_info(self) -> dict[str, Any]:
            return {}  # the base asks the Hub for a commit sha; a local folder has none

    return _LocalHFLM(pretrained=model_path, **kwargs)


def _sample(logged: dict[str, Any], choices: list[str]) -> HarnessSample:
    lls = [float(resp[0]) for resp in logged["filtered_resps"]]
    target = logged["target"]
    gold = target if isinstance(target, int) else choices.index(str(target))
    pred = max(range(len(lls)), key=lls.__getitem__)  # first maximum, like np.argmax
    return HarnessSample(int(logged["doc_id"]), lls, pred, int(gold), str(logged["arguments"][0][0]))


def run_harness(model_path: str, task: str, data_dir: str | Path, *, shots: int = 0, limit: int | None = None,
                batch_size: int | str = 1, dtype: str = "float32", device: str = "cpu",
                max_length: int | None = None) -> HarnessRun:
    """Evaluate ``task`` on the local HF checkpoint ``model_path`` with lm-evaluation-harness."""
    spec = _spec(task, Path(data_dir))
    with tempfile.TemporaryDirectory(prefix="lmbench-harness-") as tmp:
        return run_harness_yaml(model_path, task, _write_task(task, spec, Path(tmp)), spec.choices, shots=shots,
                                limit=limit, batch_size=batch_size, dtype=dtype, device=device, max_length=max_length)


def run_harness_yaml(model_path: str, task: str, include_path: str | Path, choices: list[str] | None = None, *,
                     shots: int = 0, limit: int | None = None, batch_size: int | str = 1, dtype: str = "float32",
                     device: str = "cpu", max_length: int | None = None) -> HarnessRun:
    """Evaluate ``task`` defined by a harness YAML in ``include_path`` (the harness's own defaults left out).
    ``choices`` maps a string target to its index when the YAML's doc_to_target is not an index."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    folder = Path(model_path).expanduser().resolve()  # absolute: never mistaken for a Hub id
    if not folder.is_dir():
        raise CheckpointError(f"no model folder {model_path}; pass a directory written by save_pretrained")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    lm = load_hflm(str(folder), batch_size=batch_size, dtype=dtype, device=device, max_length=max_length)
    manager = TaskManager(include_path=str(include_path), include_defaults=False)
    start = time.perf_counter()
    out = simple_evaluate(model=lm, tasks=[task], num_fewshot=shots, limit=limit, log_samples=True,
                          task_manager=manager, bootstrap_iters=0, **_SEEDS)
    wall_s = time.perf_counter() - start
    if out is None:
        raise RuntimeError("lm_eval.simple_evaluate returned no results (not rank 0?)")
    samples = sorted((_sample(s, choices or []) for s in out["samples"][task]), key=lambda s: s.doc_index)
    results = out["results"][task]
    metrics = {m: float(results[f"{m},none"]) for m in ("acc", "acc_norm") if f"{m},none" in results}
    return HarnessRun(task, samples, metrics, wall_s)
