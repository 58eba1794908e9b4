"""lm-evaluation-harness tasks through lmbench (`lm_eval:NAME`): parity with the harness's own HFLM, cache, errors.

The tasks are harness YAMLs written here over local JSONL files: a multiple-choice task (2-shot), a
rolling-perplexity task and a greedy generation task, so all three request kinds of the bridge run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from cli import run_cli
from lmbench.errors import ConfigError, DataError
from lmbench.harness.version import check_harness_version
from lmbench.runner import EvalConfig, evaluate
from lmbench.store import Store
from lmbench.store.queries import samples_frame

TASKS = ("toy_mc", "toy_ppl", "toy_gen")


def _write_tasks(root: Path) -> Path:
    data, tasks = root / "data", root / "tasks"
    data.mkdir(parents=True)
    tasks.mkdir()
    colours = ["red", "green", "blue", "yellow", "black", "white"]
    mc = [{"q": f"What colour is item number {i}?", "choices": [colours[(i + k) % 6] for k in range(4)],
           "label": i % 4} for i in range(24)]
    text = [{"text": f"The {colours[i % 6]} bird number {i} sang a song about the {colours[(i * 5) % 6]} sea."}
            for i in range(12)]
    gen = [{"q": f"Say the number {i}.", "a": str(i)} for i in range(6)]
    for name, rows in (("mc", mc), ("text", text), ("gen", gen)):
        with (data / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    common = {"dataset_path": "json", "metadata": {"version": 1.0}}
    configs = {
        "toy_mc": {**common, "dataset_kwargs": {"data_files": {"train": str(data / "mc.jsonl"),
                                                               "test": str(data / "mc.jsonl")}},
                   "output_type": "multiple_choice", "training_split": "train", "test_split": "test",
                   "doc_to_text": "Question: {{q}}\nAnswer:", "doc_to_choice": "{{choices}}",
                   "doc_to_target": "label", "num_fewshot": 2,
                   "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}]},
        "toy_ppl": {**common, "dataset_kwargs": {"data_files": {"test": str(data / "text.jsonl")}},
                    "output_type": "loglikelihood_rolling", "test_split": "test", "doc_to_text": "",
                    "doc_to_target": "{{text}}",
                    "metric_list": [{"metric": "word_perplexity"}, {"metric": "byte_perplexity"},
                                    {"metric": "bits_per_byte"}]},
        "toy_gen": {**common, "dataset_kwargs": {"data_files": {"test": str(data / "gen.jsonl")}},
                    "output_type": "generate_until", "test_split": "test", "doc_to_text": "{{q}}\nAnswer:",
                    "doc_to_target": "{{a}}",
                    "generation_kwargs": {"until": ["\n"], "max_gen_toks": 8, "do_sample": False},
                    "metric_list": [{"metric": "exact_match"}]},
    }
    for name, config in configs.items():
        (tasks / f"{name}.yaml").write_text(yaml.safe_dump({"task": name, **config}, sort_keys=False))
    return tasks


@pytest.fixture(scope="module")
def harness_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    return _write_tasks(tmp_path_factory.mktemp("harness_tasks"))


def _hflm(model: Path, include: Path) -> dict:
    """The same tasks through the harness itself: its HFLM, its evaluator."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from lmbench.parity.harness_reference import load_hflm

    lm = load_hflm(str(model), batch_size=1, dtype="float32", device="cpu")
    manager = TaskManager(include_path=str(include), include_defaults=False)
    return simple_evaluate(model=lm, tasks=list(TASKS), log_samples=True, task_manager=manager,
                           bootstrap_iters=0, random_seed=0, numpy_random_seed=1234, torch_random_seed=1234,
                           fewshot_random_seed=1234)


def test_bridge_matches_harness_hflm_per_sample(tiny_llama: Path, harness_tasks: Path, tmp_path: Path) -> None:
    _assert_parity(tiny_llama, harness_tasks, tmp_path)


@pytest.mark.slow
def test_bridge_matches_harness_hflm_on_smollm2(smollm2_dir: Path, harness_tasks: Path, tmp_path: Path) -> None:
    _assert_parity(smollm2_dir, harness_tasks, tmp_path)


def _assert_parity(model: Path, harness_tasks: Path, tmp_path: Path) -> None:
    """Same prompts, generated text, per-sample metrics and aggregates; log-likelihoods within 1e-4."""
    outcome = evaluate(EvalConfig(checkpoint=str(model), tasks=",".join(f"lm_eval:{t}" for t in TASKS),
                                  include_path=(str(harness_tasks),), db=str(tmp_path / "r.duckdb"), progress=False,
                                  batch_size="4"))
    reference = _hflm(model, harness_tasks)
    ours = outcome.samples.set_index(["task", "doc_id"])
    worst = 0.0
    for task in TASKS:
        logged = reference["samples"][task]
        assert len(logged) == len(ours.loc[f"lm_eval:{task}"])
        for sample in logged:
            row = ours.loc[(f"lm_eval:{task}", str(sample["doc_id"]))]
            assert row["prompt"] == sample["arguments"][0][0]
            if task == "toy_gen":
                assert row["prediction"] == sample["filtered_resps"][0]
            else:
                theirs = [float(r[0]) if isinstance(r, (list, tuple)) else float(r) for r in sample["filtered_resps"]]
                worst = max(worst, max(abs(a - b) for a, b in zip(row["logprobs"], theirs)))
            for metric in sample["metrics"]:
                expected, got = sample[metric], row["metrics"][metric]
                assert got == pytest.approx(expected, abs=1e-4) if not isinstance(expected, list) else \
                    got[0] == pytest.approx(expected[0], abs=1e-4) and got[1] == expected[1]
        for key, value in reference["results"][task].items():
            metric, _, filt = key.partition(",")
            if not filt or "_stderr" in metric or not isinstance(value, float):
                continue
            mine = outcome.results[(outcome.results["task"] == f"lm_eval:{task}") &
                                   (outcome.results["metric"] == metric)]["value"].item()
            assert mine == pytest.approx(value, rel=1e-4), (task, metric)
    assert worst < 1e-4, worst
    print(f"largest |log-likelihood difference| bridge vs HFLM: {worst:.2e}")


def test_second_run_computes_nothing(tiny_llama: Path, harness_tasks: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "cache.duckdb")

    def run(limit: int | None, force: bool = False):
        return evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lm_eval:toy_mc", limit=limit, force=force,
                                   include_path=(str(harness_tasks),), db=db, progress=False))

    first = run(10)
    again = run(10)
    assert again.status == "cached" and "load_s" not in again.timings  # the model was not even loaded
    more = run(16)
    assert more.reused == 10 and more.status == "done"  # the first ten documents came from the cache
    forced = run(16, force=True)
    with Store(Path(db)) as store:
        samples = samples_frame(store, task="lm_eval:toy_mc")
    by_run = {run_id: part.set_index("doc_id")["logprobs"] for run_id, part in samples.groupby("run_id")}
    assert list(by_run[more.run_id]) == list(by_run[forced.run_id])  # reused answers equal recomputed ones
    assert first.results.set_index("metric")["value"].to_dict().keys() >= {"acc", "acc_norm"}


def test_unknown_harness_task_lists_close_names(tiny_llama: Path, harness_tasks: Path, tmp_path: Path) -> None:
    done = run_cli("eval", str(tiny_llama), "--tasks", "lm_eval:toy_mcc", "--include-path", str(harness_tasks),
                "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "unknown lm-evaluation-harness task 'lm_eval:toy_mcc'" in done.stderr and "lm_eval:toy_mc" in done.stderr
    builtin = run_cli("eval", str(tiny_llama), "--tasks", "lm_eval:arc_chalenge", "--db", str(tmp_path / "x.duckdb"))
    assert builtin.returncode == 2 and "did you mean lm_eval:arc_challenge" in builtin.stderr


def test_unsupported_harness_version_is_a_one_line_error() -> None:
    assert check_harness_version()  # the installed one is supported
    for version, why in (("0.4.11", "is not supported"), ("0.5.1", "is not supported"), ("banana", "unreadable")):
        with pytest.raises(ConfigError, match=why) as info:
            check_harness_version(version)
        assert "\n" not in str(info.value) and ">=0.4.12,<0.5" in str(info.value)


def test_imported_harness_run_compares_with_bridge_run(tiny_llama: Path, harness_tasks: Path, tmp_path: Path) -> None:
    """`lm_eval --log_samples` output of the harness itself, imported, is matched question by question."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from lmbench.compare import compare_models
    from lmbench.store.harness_io import import_harness

    tracker = EvaluationTracker(output_path=str(tmp_path / "out"))
    out = simple_evaluate(model="hf", model_args=f"pretrained={tiny_llama},dtype=float32", tasks=["toy_mc"],
                          log_samples=True, device="cpu", batch_size=1, evaluation_tracker=tracker,
                          task_manager=TaskManager(include_path=str(harness_tasks), include_defaults=False))
    samples = out.pop("samples")
    tracker.save_results_aggregated(results=out, samples=samples)
    tracker.save_results_samples(task_name="toy_mc", samples=samples["toy_mc"])
    db = tmp_path / "both.duckdb"
    with Store(db) as store:
        import_harness(store, next((tmp_path / "out").rglob("results_*.json")), model_name="harness-hf")
    ours = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lm_eval:toy_mc", include_path=(str(harness_tasks),),
                               db=str(db), progress=False))
    with Store(db, read_only=True) as store:
        _, _, frame = compare_models(store, "harness-hf", ours.fingerprint, metric="acc")
    row = frame.set_index("task").loc["lm_eval:toy_mc"]
    assert row["n"] == 24 and row["matched_by"] == "prompt"
    assert row["diff_b_minus_a"] == 0.0 and row["a_only_right"] == 0 and row["b_only_right"] == 0


def test_group_members_read_their_local_copies(tiny_llama: Path, tmp_path: Path) -> None:
    """A harness group whose tasks name Hub datasets: each member finds DATA/hf/<path>/<name>/<split>.jsonl."""
    data, tasks = tmp_path / "data", tmp_path / "tasks"
    tasks.mkdir()
    for part, n in (("alpha", 5), ("beta", 3)):
        folder = data / "hf" / "lmbench-tests" / "toy" / part
        folder.mkdir(parents=True)
        folder.joinpath("test.jsonl").write_text("".join(
            json.dumps({"q": f"{part} {i}?", "choices": ["yes", "no"], "label": i % 2}) + "\n" for i in range(n)))
        (tasks / f"toy_{part}.yaml").write_text(yaml.safe_dump({
            "task": f"toy_{part}", "dataset_path": "lmbench-tests/toy", "dataset_name": part, "test_split": "test",
            "output_type": "multiple_choice", "doc_to_text": "{{q}}", "doc_to_choice": "{{choices}}",
            "doc_to_target": "label", "metric_list": [{"metric": "acc"}]}))
    (tasks / "toy_group.yaml").write_text(yaml.safe_dump({
        "group": "toy_group", "task": ["toy_alpha", "toy_beta"],
        "aggregate_metric_list": [{"metric": "acc", "aggregation": "mean", "weight_by_size": True}]}))
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lm_eval:toy_group", data_dir=str(data),
                                  include_path=(str(tasks),), db=str(tmp_path / "g.duckdb"), progress=False))
    acc = outcome.results[outcome.results["metric"] == "acc"].set_index("task")
    assert list(acc.loc[["lm_eval:toy_alpha", "lm_eval:toy_beta", "lm_eval:toy_group"], "n"]) == [5, 3, 8]
    weighted = (acc.loc["lm_eval:toy_alpha", "value"] * 5 + acc.loc["lm_eval:toy_beta", "value"] * 3) / 8
    assert acc.loc["lm_eval:toy_group", "value"] == pytest.approx(weighted)
    missing = tmp_path / "empty"
    missing.mkdir()
    with pytest.raises(DataError, match=r"building lm_eval:toy_alpha.*hf/lmbench-tests/toy/alpha/test.jsonl"):
        evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lm_eval:toy_group", data_dir=str(missing),
                            include_path=(str(tasks),), db=str(tmp_path / "g.duckdb"), progress=False))


def test_conflicting_and_overlapping_requests_are_refused(harness_tasks: Path, tmp_path: Path) -> None:
    from lmbench.errors import TaskError
    from lmbench.tasks.prepare import prepare_tasks
    from lmbench.tasks.registry import resolve

    for spec in ("lm_eval:arc_challenge,open_llm_v1", "open_llm_v1,lm_eval:arc_challenge"):
        with pytest.raises(TaskError, match="fixes it at 25 shots|suite that fixes its shots"):
            resolve(spec)
    resolve("mmlu,open_llm_v1")  # same shots (5) both ways: fine
    group = tmp_path / "group"
    group.mkdir()
    (group / "toy_both.yaml").write_text(yaml.safe_dump({"group": "toy_both", "task": ["toy_mc", "toy_ppl"]}))
    with pytest.raises(ConfigError, match="repeats lm_eval:toy_mc"):
        prepare_tasks("lm_eval:toy_both,lm_eval:toy_mc", shots=None, limit=2, data_dir=None,
                      include_path=(str(harness_tasks), str(group)))


def test_broken_template_is_a_task_error_not_a_data_error(tiny_llama: Path, harness_tasks: Path,
                                                          tmp_path: Path) -> None:
    from lmbench.errors import TaskError

    broken = tmp_path / "broken"
    broken.mkdir()
    config = yaml.safe_load((harness_tasks / "toy_mc.yaml").read_text())
    config.update(task="toy_broken", doc_to_text="{{ q.no_such_attribute() }}")
    (broken / "toy_broken.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(TaskError, match="lm_eval:toy_broken: the harness could not build") as info:
        evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lm_eval:toy_broken", include_path=(str(broken),),
                            db=str(tmp_path / "b.duckdb"), progress=False))
    assert "\n" not in str(info.value)


def test_repeated_sampled_requests_draw_different_seeds() -> None:
    from lmbench.harness.lm import LmbenchLM

    lm = LmbenchLM(engine=object(), texts=None, generator=None, seed=7)
    kwargs = {"until": ["\n"], "do_sample": True, "temperature": 0.8}
    seeds = {lm._params("same prompt", dict(kwargs), k)["seed"] for k in range(4)}
    assert len(seeds) == 4
    assert lm._params("p", {"until": "\n", "max_gen_toks": 5})["stop"] == ["\n"]  # greedy: no seed needed


def test_sample_keeps_true_doc_ids_and_small_writes_resume_nothing_lost(tiny_llama: Path, harness_tasks: Path,
                                                                        tmp_path: Path) -> None:
    """--sample draws documents with --seed and stores their ids in the task; --write-every 2 writes in chunks."""
    outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lm_eval:toy_mc", sample=7, seed=3,
                                  write_every=2, include_path=(str(harness_tasks),), db=str(tmp_path / "s.duckdb"),
                                  progress=False))
    ids = sorted(int(i) for i in outcome.samples["doc_id"])
    assert len(ids) == 7 and ids != list(range(7))
    rows = [json.loads(line) for line in (harness_tasks.parent / "data" / "mc.jsonl").read_text().splitlines()]
    for doc_id, prompt in zip(outcome.samples["doc_id"], outcome.samples["prompt"]):
        assert prompt.endswith(f"Question: {rows[int(doc_id)]['q']}\nAnswer:")


def test_cut_prompts_are_flagged(tiny_llama: Path, harness_tasks: Path, tmp_path: Path) -> None:
    """A generation prompt cut from the left to fit the context is flagged in its sample, not silently kept."""
    def flags(max_length: int | None) -> list[bool]:
        outcome = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="lm_eval:toy_gen", max_length=max_length,
                                      include_path=(str(harness_tasks),), db=str(tmp_path / f"f{max_length}.duckdb"),
                                      progress=False))
        return list(outcome.samples["flagged"])

    assert not any(flags(None))
    assert all(flags(16))
