"""`lmbench runs / results / compare / import-harness / export-harness`, the Python API, and their bad input."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pandas as pd
import pytest

import lmbench.api as lb
from lmbench.runner import EvalConfig, evaluate
from test_cli_errors import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def two_model_db(tiny_llama, tiny_gpt2, shared_data, tmp_path_factory):
    db = tmp_path_factory.mktemp("two") / "two.duckdb"
    for model in (tiny_llama, tiny_gpt2):
        evaluate(EvalConfig(checkpoint=str(model), tasks="medmcqa", limit=30, data_dir=str(shared_data), db=str(db),
                            progress=False))
    return db


def test_api_returns_frames_with_model_names(two_model_db, tiny_llama):
    results = lb.results(two_model_db, task="medmcqa")
    assert len(set(results["fingerprint"])) == 2 and tiny_llama.name in set(results["model"])
    assert set(results["metric"]) == {"acc", "acc_norm"} and (results["n"] == 30).all()
    assert results["ci_low"].notna().all() and (results["ci_low"] <= results["value"]).all()
    samples = lb.samples(two_model_db, model=tiny_llama.name)
    assert len(samples) == 30 and all(len(lp) == 4 for lp in samples["logprobs"])
    assert len(lb.runs(two_model_db)) == 2


def test_results_formats_match_the_database(two_model_db, tmp_path):
    csv_run = run_cli("results", "--db", str(two_model_db), "--format", "csv")
    assert csv_run.returncode == 0, csv_run.stderr
    frame = pd.read_csv(io.StringIO(csv_run.stdout))
    expected = lb.results(two_model_db)
    assert sorted(frame["value"].round(10)) == sorted(expected["value"].round(10))
    json_run = run_cli("results", "--db", str(two_model_db), "--format", "json", "--task", "medmcqa")
    assert len(pd.read_json(io.StringIO(json_run.stdout))) == 4
    out = tmp_path / "r.parquet"
    assert run_cli("results", "--db", str(two_model_db), "--format", "parquet", "--out", str(out)).returncode == 0
    assert len(pd.read_parquet(out)) == len(expected)
    table = run_cli("runs", "--db", str(two_model_db))
    assert table.returncode == 0 and "done" in table.stdout


def test_compare_two_models(two_model_db, tiny_llama, tiny_gpt2):
    fingerprints = lb.runs(two_model_db)["fingerprint"].tolist()
    result = run_cli("compare", fingerprints[0], fingerprints[1], "--db", str(two_model_db), "--format", "csv")
    assert result.returncode == 0, result.stderr
    row = pd.read_csv(io.StringIO(result.stdout)).iloc[0]
    accs = lb.results(two_model_db, task="medmcqa").query("metric == 'acc'").set_index("fingerprint")["value"]
    assert row["task"] == "medmcqa" and row["n"] == 30
    assert row["diff_b_minus_a"] == pytest.approx(accs[fingerprints[1]] - accs[fingerprints[0]])
    assert row["ci_low"] <= row["diff_b_minus_a"] <= row["ci_high"] and 0 < row["p_mcnemar"] <= 1


def test_compare_unknown_model_lists_known_ones(two_model_db, tiny_llama):
    result = run_cli("compare", "gpt-17", tiny_llama.name, "--db", str(two_model_db))
    assert_one_line_error(result, "no model 'gpt-17'", "known models:", tiny_llama.name)


def test_locked_database_past_retry_budget(two_model_db):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(60)", str(two_model_db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.time()
        result = run_cli("results", "--db", str(two_model_db), env={"LMBENCH_DB_TIMEOUT": "2"})
        assert_one_line_error(result, "locked")
        assert time.time() - started < 60
    finally:
        holder.kill()
        holder.wait()
    assert len(lb.runs(two_model_db)) == 2, "nothing recorded was lost"


def test_export_then_import_harness_files(two_model_db, tmp_path):
    run_id = lb.runs(two_model_db)["run_id"].iloc[0]
    exported = run_cli("export-harness", run_id[:8], "--out", str(tmp_path / "h"), "--db", str(two_model_db))
    assert exported.returncode == 0, exported.stderr
    results_file = next((tmp_path / "h").glob("results_*.json"))
    new_db = tmp_path / "imported.duckdb"
    imported = run_cli("import-harness", str(results_file), "--db", str(new_db))
    assert imported.returncode == 0 and "30 samples" in imported.stdout, imported.stderr
    original = lb.samples(two_model_db, run=run_id)
    again = lb.samples(new_db)
    assert list(again["logprobs"]) == list(original["logprobs"])
    bad = tmp_path / "results_bad.json"
    bad.write_text("{not json")
    assert_one_line_error(run_cli("import-harness", str(bad), "--db", str(new_db)), "results_bad.json")


def test_compare_without_the_default_metric_names_the_ones_there(tmp_path):
    """Generation tasks score `reward`, not `acc`: the error lists what --metric can name, and that one works."""
    from lmbench.store import Store
    from test_leaderboard import _model, _run

    db = tmp_path / "reward.duckdb"
    with Store(db) as store:
        for fingerprint, name, scores in (("aaaa0001", "sft", [-1.0, -0.5, 0.2, -0.1]),
                                          ("bbbb0002", "raft", [-0.4, -0.2, 0.5, 0.3])):
            _model(store, fingerprint, name)
            _run(store, fingerprint, "hh_rlhf_helpful", 0, scores, {"reward": sum(scores) / 4}, metric="reward")
    bad = run_cli("compare", "sft", "raft", "--db", str(db))
    assert_one_line_error(bad, "no per-sample 'acc'")
    assert "hh_rlhf_helpful: reward" in bad.stderr and "--metric NAME" in bad.stderr
    good = run_cli("compare", "sft", "raft", "--metric", "reward", "--db", str(db), "--format", "csv")
    assert good.returncode == 0, good.stderr
    row = pd.read_csv(io.StringIO(good.stdout)).iloc[0]
    assert row["n"] == 4 and row["diff_b_minus_a"] == pytest.approx(0.4)
