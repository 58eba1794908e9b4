"""Store schema 2: lineage edges that only grow, aliases, datasets, training runs and their logs; migration from 1."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lmbench.errors import LineageError, LmbenchError
from lmbench.store import Store
from lmbench.store.schema import MIGRATIONS

V1_TABLES = ("models", "tasks", "runs", "results", "samples")


def _model(store: Store, fingerprint: str, name: str, **over: object) -> None:
    fields: dict = dict(fingerprint=fingerprint, name=name, source=f"/ckpt/{name}", kind="hf_dir", revision=None,
                        dtype="float32", n_params=1000, base_model=None, lineage={}, identity={"weights": fingerprint})
    fields.update(over)
    store.upsert_model(**fields)


def _v1_database(path: Path) -> None:
    """A database exactly as lmbench with schema 1 wrote it: the v1 migration only, a row in every table."""
    con = duckdb.connect(str(path))
    version, sql = MIGRATIONS[0]
    assert version == 1
    con.execute(sql)
    con.execute("INSERT INTO schema_version VALUES (1, TIMESTAMP '2026-01-02 03:04:05')")
    models = [  # fingerprint, name, kind, base_model, lineage
        ("base0000", "base", "hf_dir", None, "{}"),
        ("lora1111", "adapter-a", "lora", "base", json.dumps({"base_fingerprint": "base0000"})),
        ("lora2222", "adapter-b", "lora", "base", "{}"),  # v1 rows before base_fingerprint: the name finds the base
        ("lora3333", "adapter-c", "lora", "gone", json.dumps({"base_fingerprint": "unknown0"})),  # base never seen
    ]
    for fp, name, kind, base, lineage in models:
        con.execute("INSERT INTO models VALUES (?, ?, ?, ?, NULL, 'float32', 10, ?, ?, ?, TIMESTAMP '2026-01-02')",
                    [fp, name, f"/ckpt/{name}", kind, base, lineage, json.dumps({"files": {"a": fp}})])
    con.execute("INSERT INTO tasks VALUES ('th', 'mmlu_anatomy', '1', 'mmlu', '{\"shots\": 5}', now()::TIMESTAMP)")
    con.execute("INSERT INTO runs VALUES ('run1', 'lora1111', 'done', '{}', 1234, 'cpu', '{}', 'abc', 'lmbench eval', "
                "TIMESTAMP '2026-01-02', TIMESTAMP '2026-01-02 00:01', '{}', NULL, 42, 'host', TIMESTAMP '2026-01-02')")
    con.execute("INSERT INTO results VALUES ('run1', 'mmlu_anatomy', 'th', 'acc', 0.5, 0.1, 0.3, 0.7, 10)")
    con.execute("INSERT INTO samples VALUES ('run1', 'mmlu_anatomy', 'th', '0', 'dh', 'Q', 'B', 'A', '[\" A\"]', "
                "'[-1.5]', '{\"acc\": 0.0}', false, TIMESTAMP '2026-01-02')")
    con.close()


def _dump(path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in V1_TABLES}
    finally:
        con.close()


def test_v1_database_migrates_with_every_row_kept_and_lineage_derived(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    _v1_database(path)
    before = _dump(path)
    with Store(path) as store:
        assert store.query("SELECT version FROM schema_version ORDER BY 1")["version"].tolist() == [1, 2]
        edges = store.edges()
        lora = store.ancestry("lora1111")
    after = _dump(path)
    for table in V1_TABLES:
        pd.testing.assert_frame_equal(after[table], before[table], check_dtype=False)
    assert sorted(zip(edges["child"], edges["parent"], edges["relation"])) == [
        ("lora1111", "base0000", "lora"), ("lora2222", "base0000", "lora")]
    assert edges.set_index("child").loc["lora1111", "detail"] == {
        "migrated_from": "schema 1", "base_model": "base", "lineage": {"base_fingerprint": "base0000"}}
    assert lora[["child", "parent", "relation", "depth", "parent_name"]].values.tolist() == [
        ["lora1111", "base0000", "lora", 1, "base"]]


def test_add_lineage_refuses_unknown_models_in_one_line(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        _model(store, "child000", "child")
        with pytest.raises(LineageError) as caught:
            store.add_lineage("child000", "nobody00", "sft", {"recipe": "sft"})
        assert isinstance(caught.value, LmbenchError)
        assert str(caught.value).startswith("lineage parent 'nobody00' is not a model in ")
        assert "\n" not in str(caught.value)
        with pytest.raises(LineageError, match="lineage child 'nobody00' is not a model"):
            store.add_lineage("nobody00", "child000", "sft")
        with pytest.raises(LineageError, match="its own parent"):
            store.add_lineage("child000", "child000", "sft")
        with pytest.raises(LineageError, match="non-empty"):
            store.add_lineage("child000", "child000", " ")
        assert store.edges().empty


def test_ancestry_walks_to_the_root_and_edges_only_grow(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        for fp, name in [("root0000", "root"), ("sft00000", "sft"), ("merge000", "merged"), ("other000", "other")]:
            _model(store, fp, name)
        store.add_lineage("sft00000", "root0000", "sft", {"recipe": "robin", "data": ["d1"]})
        store.add_lineage("merge000", "sft00000", "merge", {"weight": 0.5})
        store.add_lineage("merge000", "other000", "merge", {"weight": 0.5})
        store.add_lineage("other000", "root0000", "pretrain")
        store.add_lineage("sft00000", "root0000", "sft", {"recipe": "changed", "step": 10})  # again: keys only added
        store.add_lineage("root0000", "merge000", "dtype")  # a cycle must not loop forever
        tree = store.ancestry("merge000")
        _model(store, "sft00000", "sft-renamed", lineage={})  # a later evaluation: lineage stays
        assert len(store.edges()) == 5
        detail = store.edges("sft00000")["detail"].iloc[0]
    rows = sorted(zip(tree["child"], tree["parent"], tree["relation"], tree["depth"]), key=lambda r: (r[3], r[0], r[1]))
    assert rows == [("merge000", "other000", "merge", 1), ("merge000", "sft00000", "merge", 1),
                    ("other000", "root0000", "pretrain", 2), ("sft00000", "root0000", "sft", 2),
                    ("root0000", "merge000", "dtype", 3)]
    assert detail == {"recipe": "robin", "data": ["d1"], "step": 10}


def test_upsert_model_keeps_first_name_records_aliases_and_merges(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        _model(store, "fp000000", "first", lineage={"recipe": "sft", "step": 3}, n_params=77)
        _model(store, "fp000000", "second", lineage={}, n_params=None)
        _model(store, "fp000000", "second", n_params=None)
        _model(store, "fp000000", "third", lineage={"step": 4, "base_fingerprint": None}, n_params=None)
        model = store.models().iloc[0]
        aliases = store.aliases()
    assert model["name"] == "first" and model["n_params"] == 77
    assert model["lineage"] == {"recipe": "sft", "step": 4}
    assert aliases["alias"].tolist() == ["second", "third"]


def test_lora_edge_appears_when_its_base_is_registered_later(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        _model(store, "lora0000", "adapter", kind="lora", base_model="base", lineage={"base_fingerprint": "base0000"})
        assert store.edges().empty
        _model(store, "base0000", "base")
        edges = store.edges()
    assert edges[["child", "parent", "relation"]].values.tolist() == [["lora0000", "base0000", "lora"]]


def test_datasets_training_runs_and_train_log(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    with Store(db) as store:
        _model(store, "base0000", "base")
        store.upsert_dataset(content_hash="d1", name="alpaca", format="conversation", rows=100, path="/data/a.json")
        store.upsert_dataset(content_hash="d1", name="other", format="text_only", rows=100, path=None)
        run = store.start_training_run(recipe="sft", config={"lr": 1e-4}, recipe_hash="rh", base_fingerprint="base0000",
                                       output_dir=str(tmp_path / "out"), seed=7, data_hashes=["d1"],
                                       command="lmbench tune sft")
        assert store.log_train(run, pd.DataFrame({"step": [1, 2], "loss": [2.5, 2.25], "learning_rate": [1e-4, 9e-5]})) == 2
        store.log_train(run, pd.DataFrame({"step": [2, 2], "eval_loss": [3.0, 2.75], "loss": [None, None]}))
        store.finish_training_run(run, status="done", candidate_fingerprint="cand0000", timings={"train": 1.5})
        with pytest.raises(LmbenchError, match="training run 'nope' is not in"):
            store.log_train("nope", pd.DataFrame({"step": [1], "loss": [1.0]}))
        with pytest.raises(ValueError, match="status"):
            store.finish_training_run(run, status="ok")
    with Store(db, read_only=True) as store:
        datasets = store.datasets()
        runs = store.training_runs()
        log = store.train_log(run)
    assert datasets[["content_hash", "name", "format", "rows", "path"]].values.tolist() == [
        ["d1", "alpaca", "conversation", 100, "/data/a.json"]]
    row = runs.iloc[0]
    assert (row["recipe"], row["status"], row["base_fingerprint"], row["candidate_fingerprint"], row["seed"]) == (
        "sft", "done", "base0000", "cand0000", 7)
    assert row["config"] == {"lr": 1e-4} and row["data_hashes"] == ["d1"] and row["timings"] == {"train": 1.5}
    assert "duckdb" in row["versions"] and row["finished_at"] >= row["started_at"]
    assert log.columns.tolist() == ["step", "eval_loss", "learning_rate", "loss", "logged_at"]
    assert log["step"].tolist() == [1, 2] and log["loss"].tolist() == [2.5, 2.25]
    assert log["learning_rate"].tolist() == [1e-4, 9e-5]
    assert pd.isna(log["eval_loss"].iloc[0]) and log["eval_loss"].iloc[1] == 2.75


def test_lineage_written_by_one_process_survives_later_evaluations(tiny_llama: Path, tiny_llama_bos: Path,
                                                                   tmp_path: Path) -> None:
    import subprocess
    import sys

    from cli import run_cli
    from lmbench.runner import EvalConfig, evaluate

    rows = [{"id": f"q{i}", "question": f"Which organ is number {i}?", "choices": ["heart", "liver", "lung", "bone"],
             "answer": i % 4} for i in range(10)]
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    db, task = tmp_path / "lineage.duckdb", f"mcq:{questions}"
    base = evaluate(EvalConfig(checkpoint=str(tiny_llama), tasks=task, db=str(db), progress=False)).fingerprint
    child = evaluate(EvalConfig(checkpoint=str(tiny_llama_bos), tasks=task, db=str(db), progress=False)).fingerprint
    writer = (
        "import sys\nfrom lmbench.store import Store\n"
        "with Store(sys.argv[1]) as s:\n"
        "    row = s.models().set_index('fingerprint').loc[sys.argv[2]]\n"
        "    s.upsert_model(fingerprint=sys.argv[2], name=row['name'], source=row['source'], kind=row['kind'],\n"
        "                   revision=None, dtype=row['dtype'], n_params=None, identity=row['identity'],\n"
        "                   lineage={'recipe': 'sft', 'data_hashes': ['d1']})\n"
        "    s.add_lineage(sys.argv[2], sys.argv[3], 'sft', {'recipe_hash': 'r1', 'step': 20})\n")
    subprocess.run([sys.executable, "-c", writer, str(db), child, base], check=True, capture_output=True)
    for extra in ([], ["--limit", "5"]):  # the same evaluation (stored run shown) and a new run reusing answers
        again = run_cli("eval", str(tiny_llama_bos), "--tasks", task, "--db", str(db), "--no-progress", *extra)
        assert again.returncode == 0, again.stderr
    import lmbench.api as lb

    tree = lb.lineage(db, tiny_llama_bos.name)
    assert tree[["child", "parent", "relation", "depth"]].values.tolist() == [[child, base, "sft", 1]]
    assert tree["detail"].iloc[0] == {"recipe_hash": "r1", "step": 20}
    with Store(db, read_only=True) as store:
        model = store.models().set_index("fingerprint").loc[child]
        assert model["lineage"] == {"recipe": "sft", "data_hashes": ["d1"]}
        assert len(store.runs()) == 3


def test_api_training_runs_show_a_gone_trainer_as_interrupted(tmp_path: Path) -> None:
    import lmbench.api as lb

    db = tmp_path / "db.duckdb"
    with Store(db) as store:
        run = store.start_training_run(recipe="lora", config={}, recipe_hash="rh", base_fingerprint=None,
                                       output_dir="out", seed=0, data_hashes=[], command="lmbench tune lora")
        store.log_train(run, pd.DataFrame({"step": [5], "loss": [1.25]}))
        store.con.execute("UPDATE training_runs SET pid = -1 WHERE training_run_id = ?", [run])  # no such process
    assert lb.training_runs(db)["status"].tolist() == ["interrupted"]
    assert lb.train_log(db, run)[["step", "loss"]].values.tolist() == [[5, 1.25]]
