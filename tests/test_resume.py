"""Nothing computed is lost or computed twice: SIGKILL mid-run resumes, re-runs are cached, writers share the file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmbench.runner import EvalConfig, evaluate
from lmbench.store import Store


def _questions(path: Path, n: int) -> Path:
    words = ["heart", "liver", "lung", "kidney", "brain", "bone", "blood", "nerve"]
    rows = [{"id": f"q{i}", "question": f"Which organ is number {i} in the list of {words[i % 8]} facts?",
             "choices": [words[(i + k) % 8] for k in range(4)], "answer": i % 4} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lmbench", "eval", *args, "--no-progress"]


def _sample_count(db: Path) -> int:
    with Store(db, timeout=30) as store:
        return int(store.query("SELECT count(*) FROM samples").iloc[0, 0])


def test_sigkill_mid_run_resumes_to_identical_results(tiny_llama, tmp_path):
    questions = _questions(tmp_path / "q.jsonl", 400)
    common = [str(tiny_llama), "--tasks", f"mcq_cloze:{questions}", "--batch-size", "1", "--write-every", "8"]
    killed_db, clean_db = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    proc = subprocess.Popen(_cli(*common, "--db", str(killed_db)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    written = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        if killed_db.exists():
            try:
                written = _sample_count(killed_db)
            except Exception:  # noqa: BLE001 - the writer may hold the lock for a moment; poll again
                continue
            if written >= 16:
                break
    assert proc.poll() is None, "the run finished before it could be killed; give it more work"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 16 <= written < 400

    with Store(killed_db) as store:
        runs = store.runs()
    assert list(runs["status"]) == ["running"], "a killed run stays 'running' until resumed"

    resumed = subprocess.run(_cli(*common, "--db", str(killed_db)), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    clean = subprocess.run(_cli(*common, "--db", str(clean_db)), capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr

    with Store(killed_db) as a, Store(clean_db) as b:
        runs_a = a.runs()
        samples_a, samples_b = a.samples(), b.samples()
        results_a, results_b = a.results(), b.results()
    assert len(runs_a) == 1 and runs_a["status"].iloc[0] == "done", "the killed run itself was resumed"
    assert len(samples_a) == 400 and samples_a["doc_id"].is_unique, "no duplicate samples"
    assert list(samples_a["doc_id"]) == list(samples_b["doc_id"])
    for x, y in zip(samples_a["logprobs"], samples_b["logprobs"]):
        assert max(abs(p - q) for p, q in zip(x, y)) < 1e-5
    assert list(samples_a["prediction"]) == list(samples_b["prediction"])
    merged = results_a.merge(results_b, on=["task", "metric"])
    assert (merged["value_x"] - merged["value_y"]).abs().max() < 1e-12


def test_finished_run_rerun_is_cached_and_force_recomputes(tiny_llama, tmp_path):
    questions = _questions(tmp_path / "q.jsonl", 30)
    config = EvalConfig(checkpoint=str(tiny_llama), tasks=f"mcq_cloze:{questions}", db=str(tmp_path / "c.duckdb"),
                        progress=False)
    first = evaluate(config)
    again = evaluate(config)
    assert again.status == "cached" and again.run_id == first.run_id and "load_s" not in again.timings
    expected = first.results.sort_values(["task", "metric"])["value"].tolist()
    assert again.results.sort_values(["task", "metric"])["value"].tolist() == expected
    forced = evaluate(EvalConfig(**{**config.__dict__, "force": True}))
    assert forced.run_id != first.run_id and forced.reused == 0
    with Store(tmp_path / "c.duckdb") as store:
        assert len(store.runs()) == 2


def test_overlapping_limits_reuse_answers(tiny_llama, shared_data, tmp_path):
    db = str(tmp_path / "o.duckdb")
    small = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="medmcqa", limit=10, data_dir=str(shared_data),
                                db=db, progress=False))
    large = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks="medmcqa", limit=25, data_dir=str(shared_data),
                                db=db, progress=False))
    assert small.reused == 0 and large.reused == 10 and len(large.samples) == 25
    first_ten = large.samples.head(10)
    assert list(first_ten["logprobs"]) == list(small.samples["logprobs"])


def test_two_concurrent_writers_both_land(tiny_llama, tiny_gpt2, tmp_path):
    questions = _questions(tmp_path / "q.jsonl", 200)
    db = tmp_path / "shared.duckdb"
    procs = [subprocess.Popen(_cli(str(model), "--tasks", f"mcq_cloze:{questions}", "--db", str(db),
                                   "--write-every", "4", "--batch-size", "2"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "LMBENCH_DB_TIMEOUT": "60"})
             for model in (tiny_llama, tiny_gpt2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    with Store(db) as store:
        runs = store.runs()
        counts = store.query("SELECT run_id, count(*) AS n, count(DISTINCT doc_id) AS d FROM samples GROUP BY run_id")
    assert sorted(runs["status"]) == ["done", "done"] and runs["model_fingerprint"].nunique() == 2
    assert sorted(counts["n"]) == [200, 200] and sorted(counts["d"]) == [200, 200]


def test_resume_keeps_questions_that_share_content(tiny_llama, tmp_path):
    """Two ids with the same question: a resumed run that holds one answer must copy it to the other id."""
    row = {"question": "Which organ pumps blood?", "choices": ["heart", "liver", "lung", "bone"], "answer": 0}
    questions = tmp_path / "dup.jsonl"
    questions.write_text("".join(json.dumps({"id": i, **row}) + "\n" for i in ("a", "b")) +
                         json.dumps({"id": "c", **row, "question": "Which organ filters blood?"}) + "\n")
    db = tmp_path / "dup.duckdb"
    config = EvalConfig(checkpoint=str(tiny_llama), tasks=f"mcq:{questions}", db=str(db), progress=False)
    first = evaluate(config)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(db) as store:  # as if the process died after writing question a only
        store.con.execute("DELETE FROM samples WHERE run_id = ? AND doc_id <> 'a'", [first.run_id])
        store.con.execute("UPDATE runs SET status = 'running', pid = ?, finished_at = NULL WHERE run_id = ?",
                          [dead.pid, first.run_id])
    resumed = evaluate(config)
    assert resumed.run_id == first.run_id
    assert sorted(resumed.samples["doc_id"]) == ["a", "b", "c"]
    with Store(db) as store:
        assert store.query("SELECT count(*) FROM samples WHERE run_id = ?", [first.run_id]).iloc[0, 0] == 3
