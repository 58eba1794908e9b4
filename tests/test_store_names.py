"""[8] names and stale runs: a model keeps its first name (later folder names are aliases every command
accepts), and a run whose process is gone shows as interrupted, not running."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import lmbench.api as lb
from cli import run_cli
from lmbench.runner import EvalConfig, evaluate
from lmbench.store import Store
from lmbench.store.cache import latest_run
from lmbench.store.db import utcnow


def _questions(path: Path, n: int = 12) -> Path:
    words = ["heart", "liver", "lung", "kidney", "brain", "bone", "blood", "nerve"]
    rows = [{"id": f"q{i}", "question": f"Which organ is number {i} of the {words[i % 8]} facts?",
             "choices": [words[(i + k) % 8] for k in range(4)], "answer": i % 4} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def renamed_db(tiny_llama: Path, tiny_gpt2: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("names")
    task = f"mcq:{_questions(root / 'q.jsonl')}"
    old, new = shutil.copytree(tiny_llama, root / "old-name"), shutil.copytree(tiny_llama, root / "new-name")
    db = root / "names.duckdb"
    for checkpoint in (old, tiny_gpt2, new):
        evaluate(EvalConfig(checkpoint=str(checkpoint), tasks=task, db=str(db), progress=False))
    evaluate(EvalConfig(checkpoint=str(new), tasks=task, db=str(db), limit=6, progress=False))  # computes nothing
    return {"db": db, "old": old.name, "new": new.name, "gpt2": tiny_gpt2.name}


def test_a_model_keeps_its_first_name_and_records_later_ones(renamed_db: dict) -> None:
    models = lb.models(renamed_db["db"])
    llama = models[models["name"] == renamed_db["old"]]
    assert sorted(models["name"]) == sorted([renamed_db["old"], renamed_db["gpt2"]])
    assert llama["aliases"].tolist() == [renamed_db["new"]]
    runs = lb.runs(renamed_db["db"])
    assert sorted(runs["model"]) == sorted([renamed_db["old"], renamed_db["old"], renamed_db["gpt2"]]), \
        "earlier runs keep their model's name"


def test_compare_and_results_accept_the_alias_and_the_first_name(renamed_db: dict) -> None:
    db = str(renamed_db["db"])
    compared = run_cli("compare", renamed_db["new"], renamed_db["gpt2"], "--db", db, "--metric", "acc",
                       "--format", "csv")
    assert compared.returncode == 0, compared.stderr
    assert pd.read_csv(io.StringIO(compared.stdout))["n"].tolist() == [12]
    by_old = run_cli("results", "--model", renamed_db["old"], "--db", db, "--format", "csv")
    by_new = run_cli("results", "--model", renamed_db["new"], "--db", db, "--format", "csv")
    assert by_old.returncode == 0 and by_new.returncode == 0, by_old.stderr + by_new.stderr
    old_rows, new_rows = pd.read_csv(io.StringIO(by_old.stdout)), pd.read_csv(io.StringIO(by_new.stdout))
    assert len(old_rows) > 0 and old_rows.equals(new_rows)
    assert set(old_rows["model"]) == {renamed_db["old"]} and old_rows["run_id"].nunique() == 2


def test_leaderboard_model_matching_accepts_aliases(renamed_db: dict) -> None:
    from lmbench.leaderboards.database import ResultsView

    with Store(renamed_db["db"], read_only=True) as store:
        view = ResultsView(store)
        by_alias = view.find_model(renamed_db["new"])
        assert by_alias.name == renamed_db["old"] and by_alias.aliases == (renamed_db["new"],)
        assert view.find_model(by_alias.fingerprint[:6]) == by_alias


def test_models_command_lists_names_aliases_and_parents(renamed_db: dict, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(renamed_db["db"], db)
    with Store(db) as store:
        models = store.models().set_index("name")
        store.add_lineage(models.loc[renamed_db["gpt2"], "fingerprint"], models.loc[renamed_db["old"], "fingerprint"],
                          "sft", {"recipe": "robin"})
    listed = run_cli("models", "--db", str(db), "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    frame = pd.read_csv(io.StringIO(listed.stdout)).set_index("name")
    old_fp = models.loc[renamed_db["old"], "fingerprint"]
    assert frame.loc[renamed_db["gpt2"], "parents"] == f"{renamed_db['old']} ({old_fp[:8]}, sft)"
    assert frame.loc[renamed_db["old"], "aliases"] == renamed_db["new"]
    tree = run_cli("models", renamed_db["gpt2"], "--db", str(db), "--format", "json")
    assert tree.returncode == 0, tree.stderr
    edges = json.loads(tree.stdout)
    assert [(e["relation"], e["parent"], e["depth"], e["detail"]) for e in edges] == [
        ("sft", old_fp, 1, {"recipe": "robin"})]
    unknown = run_cli("models", "nobody", "--db", str(db))
    assert unknown.returncode == 2 and unknown.stderr.startswith("lmbench: error: no model 'nobody'")
    assert len(unknown.stderr.strip().splitlines()) == 1


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_is_gone_shows_as_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "stale.duckdb"
    with Store(db) as store:
        store.upsert_model(fingerprint="fp000000", name="tiny", source="x", kind="hf_dir", revision=None,
                           dtype="float32", n_params=1, identity={})
        ids = {}
        for label in ("dead_here", "alive_here", "silent_elsewhere", "fresh_elsewhere"):
            ids[label] = store.start_run(model_fingerprint="fp000000", config={"run_key": label}, seed=0,
                                         device="cpu", versions={}, git_sha=None, command=f"lmbench eval {label}")
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        old = utcnow() - timedelta(hours=2)
        rows = {"dead_here": (_dead_pid(), socket.gethostname(), utcnow()),
                "alive_here": (sleeper.pid, socket.gethostname(), old),
                "silent_elsewhere": (os.getpid(), "another-host", old),
                "fresh_elsewhere": (os.getpid(), "another-host", utcnow())}
        for label, (pid, host, updated) in rows.items():
            store.con.execute("UPDATE runs SET pid = ?, host = ?, updated_at = ? WHERE run_id = ?",
                              [pid, host, updated, ids[label]])
    try:
        shown = run_cli("runs", "--db", str(db), "--format", "csv")
        assert shown.returncode == 0, shown.stderr
        status = pd.read_csv(io.StringIO(shown.stdout)).set_index("command")["status"]
        assert status.to_dict() == {"lmbench eval dead_here": "interrupted", "lmbench eval alive_here": "running",
                                    "lmbench eval silent_elsewhere": "interrupted",
                                    "lmbench eval fresh_elsewhere": "running"}
        assert lb.runs(db).set_index("run_id").loc[ids["dead_here"], "status"] == "interrupted"
        with Store(db, read_only=True) as store:
            assert store.runs().set_index("run_id").loc[ids["dead_here"], "status"] == "running", "reads never write"
            assert latest_run(store, "dead_here")["resumable"] and not latest_run(store, "alive_here")["resumable"]
    finally:
        sleeper.kill()
        sleeper.wait()
