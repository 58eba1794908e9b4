"""lm-evaluation-harness files <-> the store: a real harness run (tiny model) imported, exported, re-imported."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lmbench.errors import DataError, StoreError
from lmbench.store import Store
from lmbench.store.harness_io import export_harness, import_harness

TASK = "tiny_mc"
CHOICES = ["heart", "liver", "lung"]


@pytest.fixture(scope="module")
def harness_run(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run lm_eval itself (simple_evaluate + EvaluationTracker, as `lm_eval --output_path --log_samples` does)."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    root = tmp_path_factory.mktemp("harness")
    docs = [{"question": f"Which organ is number {i}?", "choices": CHOICES, "answer": i % 3} for i in range(8)]
    (root / "data.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    (root / "tasks").mkdir()
    (root / "tasks" / f"{TASK}.yaml").write_text(json.dumps({  # JSON is YAML
        "task": TASK, "dataset_path": "json", "test_split": "test", "output_type": "multiple_choice",
        "dataset_kwargs": {"data_files": {"test": str(root / "data.jsonl")}, "cache_dir": str(root / "hf_cache")},
        "doc_to_text": "Question: {{question}}\nAnswer:", "doc_to_choice": "{{choices}}", "doc_to_target": "answer",
        "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in ("acc", "acc_norm")],
        "metadata": {"version": 2.0}}), encoding="utf-8")
    model_args = f"pretrained={tiny_llama},dtype=float32"
    tracker = EvaluationTracker(output_path=str(root / "out"))
    out = simple_evaluate(model="hf", model_args=model_args, tasks=[TASK], limit=5, log_samples=True, device="cpu",
                          batch_size=1, task_manager=TaskManager(include_path=str(root / "tasks"),
                                                                 include_defaults=False),
                          evaluation_tracker=tracker, bootstrap_iters=100)
    samples = out.pop("samples")
    memory = copy.deepcopy(samples[TASK])  # save_results_samples stringifies these in place
    tracker.save_results_aggregated(results=out, samples=samples)
    for task in out["configs"]:
        tracker.save_results_samples(task_name=task, samples=samples[task])
    (results_json,) = (root / "out").rglob("results_*.json")
    return {"results_json": results_json, "memory": memory, "results": out, "model": tiny_llama}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_harness_file_layout(harness_run: dict[str, Any]) -> None:
    """What lm_eval 0.4.13 writes: pinned so a harness upgrade that changes it fails here first."""
    results_json = harness_run["results_json"]
    stamp = results_json.stem.removeprefix("results_")
    data = json.loads(results_json.read_text())
    assert {"results", "configs", "versions", "n-shot", "config", "model_name", "lm_eval_version"} <= set(data)
    assert data["results"][TASK]["alias"] == TASK and "acc_stderr,none" in data["results"][TASK]
    line = _lines(results_json.parent / f"samples_{TASK}_{stamp}.jsonl")[0]
    assert set(line["arguments"]) == {"gen_args_0", "gen_args_1", "gen_args_2"}
    assert line["arguments"]["gen_args_1"]["arg_1"] == " liver"
    assert all(isinstance(v, str) for resp in line["resps"] for v in resp[0])  # ["-11.1", "False"]
    assert line["target"] == "0" and line["metrics"] == ["acc", "acc_norm"]


def test_import_real_harness_run(harness_run: dict[str, Any], tmp_path: Path) -> None:
    results_json = harness_run["results_json"]
    decoy = results_json.parent / f"samples_{TASK}_2001-01-01T00-00-00.000000.jsonl"
    shutil.copy(next(results_json.parent.glob("samples_*.jsonl")), decoy)  # another run's file: not picked up
    with Store(tmp_path / "db.duckdb") as store:
        run_id = import_harness(store, results_json)
        run = store.runs().set_index("run_id").loc[run_id]
        model = store.models().iloc[0]
        task = store.tasks().iloc[0]
        results = store.results(run_id).set_index("metric")
        samples = store.samples(run_id, TASK)
    decoy.unlink()
    assert run["status"] == "done" and run["command"] == f"lm_eval import of {results_json}"
    assert run["versions"]["lm_eval"] == "0.4.13"
    assert run["config"]["model_args"] == f"pretrained={harness_run['model']},dtype=float32"
    assert (model["kind"], model["name"], model["dtype"]) == ("harness", str(harness_run["model"]), "float32")
    assert model["n_params"] == harness_run["results"]["config"]["model_num_parameters"]
    assert (task["name"], task["version"], task["family"]) == (TASK, "2.0", "lm_eval")
    assert task["config"]["doc_to_text"] == "Question: {{question}}\nAnswer:"
    agg = harness_run["results"]["results"][TASK]
    assert sorted(results.index) == ["acc", "acc_norm"] and set(results["n"]) == {5}
    for metric in ("acc", "acc_norm"):
        assert results.loc[metric, "value"] == agg[f"{metric},none"]
        assert results.loc[metric, "stderr"] == agg[f"{metric}_stderr,none"]
    assert samples["doc_id"].tolist() == ["0", "1", "2", "3", "4"]
    for (_, row), logged in zip(samples.iterrows(), sorted(harness_run["memory"], key=lambda s: s["doc_id"])):
        assert row["logprobs"] == [resp[0][0] for resp in logged["resps"]]  # exact: floats survive the file
        assert row["metrics"] == {"acc": logged["acc"], "acc_norm": logged["acc_norm"]}
        assert row["prompt"] == logged["arguments"][0][0] and row["choices"] == [f" {c}" for c in CHOICES]
        assert row["target"] == f" {CHOICES[logged['target']]}" and row["doc_hash"] == logged["doc_hash"]
        assert row["prediction"] == row["choices"][max(range(3), key=row["logprobs"].__getitem__)]
        assert row["metrics"]["acc"] == float(row["prediction"] == row["target"])


def test_export_round_trip(harness_run: dict[str, Any], tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        first = import_harness(store, harness_run["results_json"], model_name="tiny")
        paths = export_harness(store, first, tmp_path / "export")
        assert [p.name for p in paths] == [f"results_{first}.json", f"samples_{TASK}_{first}.jsonl"]
        second = import_harness(store, paths[0])
        runs = store.runs().set_index("run_id")
        assert len(store.models()) == 1 and len(store.tasks()) == 1  # the lmbench block names the same rows
        assert runs.loc[first, "model_fingerprint"] == runs.loc[second, "model_fingerprint"]
        cols = ["task", "task_hash", "doc_id", "doc_hash", "prompt", "target", "prediction", "choices", "logprobs",
                "metrics"]
        pd.testing.assert_frame_equal(store.samples(first)[cols], store.samples(second)[cols])
        pd.testing.assert_frame_equal(store.results(first).drop(columns="run_id"),
                                      store.results(second).drop(columns="run_id"))
    data = json.loads(paths[0].read_text())
    original = json.loads(harness_run["results_json"].read_text())
    assert data["results"][TASK] == {k: original["results"][TASK][k] for k in data["results"][TASK]}
    assert (data["n-shot"], data["versions"]) == ({TASK: 0}, {TASK: "2.0"})
    assert data["lmbench"]["run_id"] == first and data["config"] == original["config"]
    line, logged = _lines(paths[1])[0], _lines(harness_run["results_json"].parent / paths[1].name.replace(
        first, harness_run["results_json"].stem.removeprefix("results_")))[0]
    for key in ("doc_id", "target", "arguments", "filtered_resps", "filter", "metrics", "doc_hash", "prompt_hash",
                "target_hash", "acc", "acc_norm"):
        assert line[key] == logged[key], key


def test_lmbench_run_round_trip(tmp_path: Path) -> None:
    """An lmbench run handed to harness tooling and back keeps every per-sample number, bit for bit."""
    logprobs = [[0.1 + 0.2, -1e-300, float("-inf")], [-123.45678901234568, 5e-324, -2.0**60]]
    with Store(tmp_path / "db.duckdb") as store:
        store.upsert_model(fingerprint="fp", name="tiny", source="hf_dir", kind="causal_lm", revision=None,
                           dtype="float32", n_params=10, base_model=None, lineage={}, identity={})
        store.upsert_task(task_hash="th", name="mmlu_anatomy", version="1", family="mmlu", config={"shots": 5})
        run_id = store.start_run(model_fingerprint="fp", config={"seed": 1}, seed=1, device="cpu",
                                 versions={"lmbench": "0.1.0"}, git_sha=None, command="lmbench eval")
        store.write_samples(run_id, pd.DataFrame({
            "task": ["mmlu_anatomy"] * 2, "task_hash": ["th"] * 2, "doc_id": ["0", "q-7"], "doc_hash": ["h0", "h1"],
            "prompt": ["Q0\nAnswer:", "Q1\nAnswer:"], "target": ["B", "C"], "prediction": ["A", "B"],
            "choices": [["A", "B", "C"]] * 2, "logprobs": logprobs,
            "metrics": [{"acc": 0.0, "acc_norm": float("nan")}, {"acc": 0.0, "acc_norm": 1.0}],
            "flagged": [False] * 2}))
        store.write_results(run_id, pd.DataFrame({"task": ["mmlu_anatomy"], "task_hash": ["th"], "metric": ["acc"],
                                                  "value": [0.0], "stderr": [None], "n": [2]}))
        store.finish_run(run_id, status="done", timings={})
        paths = export_harness(store, run_id, tmp_path / "out")
        again = import_harness(store, paths[0])
        before, after = store.samples(run_id), store.samples(again)
        assert store.runs().set_index("run_id").loc[again, "model_fingerprint"] == "fp"
        with pytest.raises(StoreError, match="not in"):
            export_harness(store, "nope", tmp_path / "out")
    for col in ("doc_id", "task_hash", "prompt", "target", "prediction", "choices"):
        assert before[col].tolist() == after[col].tolist(), col
    for b, a in zip(before.itertuples(), after.itertuples()):
        assert b.logprobs == a.logprobs  # exact, -inf included
        assert json.dumps(b.metrics) == json.dumps(a.metrics)  # NaN survives
    line = _lines(paths[1])[0]
    assert line["doc_id"] == "0" and line["target"] == "1"  # ids stay strings: "q-7" shares the file
    assert line["arguments"]["gen_args_2"] == {"arg_0": "Q0\nAnswer:", "arg_1": "C"}
    assert line["resps"][0] == [[repr(0.1 + 0.2), "False"]] and line["filtered_resps"][2] == ["-inf", "False"]
    data = json.loads(paths[0].read_text())
    assert data["results"]["mmlu_anatomy"] == {"alias": "mmlu_anatomy", "acc,none": 0.0, "acc_stderr,none": "N/A"}
    assert (data["n-shot"], data["versions"]) == ({"mmlu_anatomy": 5}, {"mmlu_anatomy": "1"})
    assert data["config"] == {"seed": 1}
    assert data["lmbench"] == {"run_id": run_id, "model_fingerprint": "fp", "task_hashes": {"mmlu_anatomy": "th"},
                                    "status": "done", "versions": {"lmbench": "0.1.0"}}


def test_export_reads_with_harness_tooling(harness_run: dict[str, Any], tmp_path: Path) -> None:
    """lm_eval's own table printer and the datasets JSON loader (how harness sample logs are read) accept the export."""
    from datasets import load_dataset
    from lm_eval.utils import get_file_datetime, get_file_task_name, make_table

    with Store(tmp_path / "db.duckdb") as store:
        run_id = import_harness(store, harness_run["results_json"])
        paths = export_harness(store, run_id, tmp_path / "out")
    table = make_table(json.loads(paths[0].read_text()))
    assert "|tiny_mc|" in table.replace(" ", "") and "acc_norm" in table
    assert (get_file_task_name(paths[1].name), get_file_datetime(paths[1].name)) == (TASK, run_id)
    rows = load_dataset("json", data_files=str(paths[1]), cache_dir=str(tmp_path / "cache"), split="train")
    assert rows["doc_id"] == [0, 1, 2, 3, 4] and rows[0]["arguments"]["gen_args_0"]["arg_1"] == " heart"


def _bad_inputs(harness_run: dict[str, Any], tmp_path: Path) -> list[tuple[Path, list[Path] | None, str]]:
    results_json = harness_run["results_json"]
    samples = next(results_json.parent.glob(f"samples_{TASK}_*.jsonl"))
    (tmp_path / "results_x.json").write_text("{not json")
    (tmp_path / "results_y.json").write_text('{"configs": {}}')
    lines = samples.read_text().splitlines()
    bad = tmp_path / f"samples_{TASK}_z.jsonl"
    bad.write_text("\n".join([lines[0], lines[1][:40], *lines[2:]]) + "\n")
    odd = tmp_path / f"samples_{TASK}_w.jsonl"
    odd.write_text(json.dumps({"doc_id": 0, "target": "0"}) + "\n")
    return [(tmp_path / "results_x.json", None, "is not JSON"),
            (tmp_path / "results_y.json", None, "no 'results' object"),
            (tmp_path / "missing.json", None, "cannot read"),
            (results_json, [samples, bad], f"{bad}: line 2 is not JSON"),
            (results_json, [odd], f"{odd}: line 1 is not an lm_eval sample"),
            (results_json, [tmp_path / f"samples_{TASK}_v.jsonl"], "cannot read harness samples"),
            (results_json, [tmp_path / "samples_other_v.jsonl"], "for tasks"),
            (results_json, [tmp_path / "notes.jsonl"], "is not named")]


def test_bad_input_writes_nothing(harness_run: dict[str, Any], tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        for results_json, files, message in _bad_inputs(harness_run, tmp_path):
            with pytest.raises(DataError) as info:
                import_harness(store, results_json, files)
            text = str(info.value)
            assert message in text and "\n" not in text, text
        for table in ("models", "tasks", "runs", "results", "samples"):
            assert store.query(f"SELECT count(*) AS n FROM {table}")["n"][0] == 0, table
