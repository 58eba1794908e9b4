"""The DuckDB results store, on real files in tmp_path."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lmbench.errors import LmbenchError, StoreError
from lmbench.store import SCHEMA_VERSION, Store

LOGPROBS = [0.1 + 0.2, -1e-300, 1 / 3, -123.45678901234568, 5e-324, -2.0**60, float("-inf")]


def _model(store: Store, fingerprint: str = "fp-1", **over: object) -> None:
    fields: dict = dict(fingerprint=fingerprint, name="tiny", source="hf_dir", kind="causal_lm", revision=None,
                        dtype="float32", n_params=134_515_008, base_model=None,
                        lineage={"parents": [], "recipe": None}, identity={"files": {"model.safetensors": "abc"}})
    fields.update(over)
    store.upsert_model(**fields)


def _run(store: Store) -> str:
    _model(store)
    store.upsert_task(task_hash="th-1", name="mmlu_anatomy", version="1", family="mmlu", config={"shots": 5})
    return store.start_run(model_fingerprint="fp-1", config={"batch_size": 8, "tasks": ["mmlu_anatomy"]}, seed=1234,
                           device="cpu", versions={"lmbench": "0.1.0", "duckdb": duckdb.__version__},
                           git_sha="deadbeef", command="lmbench eval --model tiny")


def _samples(n: int, task: str = "mmlu_anatomy", prediction: str = "A") -> pd.DataFrame:
    return pd.DataFrame({
        "task": [task] * n, "task_hash": ["th-1"] * n, "doc_id": [str(i) for i in range(n)],
        "doc_hash": [f"h{i}" for i in range(n)], "prompt": [f"Q{i}\nAnswer:" for i in range(n)],
        "target": ["B"] * n, "prediction": [prediction] * n,
        "choices": [[" A", " B", " C", " D"]] * n, "logprobs": [[-1.5 - i, -0.25, -3.0, -7.125] for i in range(n)],
        "metrics": [{"acc": float(i % 2), "acc_norm": 0.5} for i in range(n)], "flagged": [i == 0 for i in range(n)],
    })


def _results(value: float = 0.5) -> pd.DataFrame:
    return pd.DataFrame({"task": ["mmlu_anatomy", "mmlu_anatomy"], "task_hash": ["th-1", "th-1"],
                         "metric": ["acc", "acc_norm"], "value": [value, 0.625], "stderr": [0.05, None],
                         "ci_low": [0.4, None], "ci_high": [0.6, None], "n": [100, 100]})


def test_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "lmbench.duckdb"
    with Store(db) as store:
        run_id = _run(store)
        assert len(run_id) == 32 and store.runs()["status"].tolist() == ["running"]
        assert store.write_samples(run_id, _samples(3)) == 3
        assert store.write_results(run_id, _results()) == 2
        store.finish_run(run_id, status="done", timings={"load": 1.5, "score": 12.25})
    with Store(db, read_only=True) as store:
        model = store.models().iloc[0]
        assert model["n_params"] == 134_515_008 and model["revision"] is None
        assert model["lineage"] == {"parents": [], "recipe": None}
        assert model["identity"] == {"files": {"model.safetensors": "abc"}}
        assert store.tasks().iloc[0]["config"] == {"shots": 5}
        run = store.runs().iloc[0]
        assert run["run_id"] == run_id and run["status"] == "done" and run["seed"] == 1234
        assert run["config"] == {"batch_size": 8, "tasks": ["mmlu_anatomy"]}
        assert run["versions"]["duckdb"] == duckdb.__version__
        assert run["timings"] == {"load": 1.5, "score": 12.25}
        assert run["finished_at"] >= run["started_at"] and pd.isna(run["error"])
        results = store.results(run_id)
        assert results["metric"].tolist() == ["acc", "acc_norm"]
        assert results["value"].tolist() == [0.5, 0.625] and results["n"].tolist() == [100, 100]
        assert pd.isna(results["stderr"].iloc[1])
        samples = store.samples(run_id, task="mmlu_anatomy")
        assert samples["doc_id"].tolist() == ["0", "1", "2"]
        assert samples["choices"].iloc[0] == [" A", " B", " C", " D"]
        assert samples["metrics"].iloc[1] == {"acc": 1.0, "acc_norm": 0.5}
        assert samples["flagged"].tolist() == [True, False, False]
        assert store.samples(task="other").empty and store.results("no-such-run").empty


def test_rewrite_is_idempotent(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        run_id = _run(store)
        store.write_samples(run_id, _samples(10))
        store.write_samples(run_id, _samples(10, prediction="C"))  # resumed run re-scores everything
        doubled = pd.concat([_samples(4), _samples(4, prediction="D")])  # duplicate keys in one call: last wins
        assert store.write_samples(run_id, doubled) == 4
        store.write_results(run_id, _results(0.5))
        store.write_results(run_id, _results(0.75))
        _model(store, name="renamed")
        samples = store.samples(run_id)
        assert len(samples) == 10
        assert samples["prediction"].tolist() == ["D"] * 4 + ["C"] * 6
        assert store.results(run_id)["value"].tolist() == [0.75, 0.625]
        assert store.models()["name"].tolist() == ["tiny"], "a model keeps its first name"
        assert store.aliases()["alias"].tolist() == ["renamed"]


def test_bulk_insert_2000_samples(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        run_id = _run(store)
        start = time.perf_counter()
        assert store.write_samples(run_id, _samples(2000)) == 2000
        elapsed = time.perf_counter() - start
        assert store.query("SELECT count(*) AS n FROM samples")["n"].iloc[0] == 2000
        assert elapsed < 5, f"2000 samples took {elapsed:.2f} s: the insert is not going through a DataFrame"
        last = store.samples(run_id).set_index("doc_id").loc["1999"]
        assert last["logprobs"][0] == -1.5 - 1999 and last["metrics"] == {"acc": 1.0, "acc_norm": 0.5}


def test_json_floats_round_trip_exactly(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    frame = _samples(1)
    frame["logprobs"] = [LOGPROBS]
    frame["metrics"] = [{"nll": 1 / 7, "undefined": float("nan")}]
    with Store(db) as store:
        run_id = _run(store)
        store.write_samples(run_id, frame)
    with Store(db, read_only=True) as store:
        row = store.samples(run_id).iloc[0]
    assert row["logprobs"] == LOGPROBS  # == on floats: every bit kept, -inf included
    assert all(isinstance(v, float) for v in row["logprobs"])
    assert row["metrics"]["nll"] == 1 / 7 and math.isnan(row["metrics"]["undefined"])


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    Store(db).close()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP, '0.7.1')", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(StoreError) as caught:
        Store(db)
    message = str(caught.value)
    assert f"newer lmbench (schema {SCHEMA_VERSION + 1} > {SCHEMA_VERSION}, this is lmbench 0.1.0)" in message
    assert "it needs lmbench>=0.7.1: upgrade (pip install -U 'lmbench>=0.7.1')" in message
    assert "\n" not in message


def test_reopen_does_not_reapply_migrations(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    with Store(db) as store:
        _run(store)
    with Store(db) as store:
        versions = store.query("SELECT version FROM schema_version")["version"].tolist()
        assert versions == list(range(1, SCHEMA_VERSION + 1)) and len(store.runs()) == 1


def test_migrations_apply_in_order_and_roll_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmbench.store import db as store_db

    path = tmp_path / "db.duckdb"
    with Store(path) as store:
        _run(store)
    nxt, after = SCHEMA_VERSION + 1, SCHEMA_VERSION + 2
    added = "ALTER TABLE runs ADD COLUMN note VARCHAR; UPDATE runs SET note = 'migrated'"
    broken = "ALTER TABLE runs ADD COLUMN other VARCHAR; SELECT * FROM no_such_table"
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", after)
    monkeypatch.setattr(store_db, "MIGRATIONS", store_db.MIGRATIONS + [(nxt, added), (after, broken)])
    with pytest.raises(StoreError, match=f"has schema {SCHEMA_VERSION} but this lmbench needs {after}"):
        Store(path, read_only=True)
    with pytest.raises(StoreError, match=f"migrating .* to schema {after} failed"):
        Store(path)
    con = duckdb.connect(str(path))  # nxt was committed; after rolled back whole, its first statement too
    assert [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()] == \
        list(range(1, nxt + 1))
    assert [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs'").fetchall()
            if c in ("note", "other")] == ["note"]
    con.close()
    monkeypatch.setattr(store_db, "MIGRATIONS", store_db.MIGRATIONS[:nxt] + [(after, broken.split(";")[0])])
    with Store(path) as store:
        assert store.query("SELECT version FROM schema_version ORDER BY 1")["version"].tolist() == \
            list(range(1, after + 1))
        runs = store.runs()
        assert runs["note"].tolist() == ["migrated"] and runs["other"].isna().all()


# duckdb 2 itself opens an existing .csv/.json/.parquet as in-memory views: those must be refused too.
@pytest.mark.parametrize("name", ["results.csv", "notes.txt", "lmbench.duckdb", "data.parquet"])
@pytest.mark.parametrize("content", [b"task,acc\nmmlu,0.5\n", b"", bytes(range(256)) * 64])
@pytest.mark.parametrize("read_only", [False, True])
def test_not_a_database_is_refused_and_untouched(tmp_path: Path, name: str, content: bytes, read_only: bool) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(StoreError, match=rf"{re.escape(name)} is not a DuckDB database.*--db") as caught:
        Store(path, read_only=read_only)
    assert isinstance(caught.value, LmbenchError) and "\n" not in str(caught.value)
    assert path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_truncated_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "results.duckdb"
    content = b"12345678DUCK" + b"\0" * 100  # passes the magic-bytes check, then fails inside duckdb
    path.write_bytes(content)
    with pytest.raises(StoreError, match=r"cannot open results database .*results\.duckdb.*--db"):
        Store(path)
    assert path.read_bytes() == content


def test_foreign_duckdb_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE mine (x INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not an lmbench results store"):
        Store(db)


def test_read_only_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_locked_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        with pytest.raises(StoreError, match=rf"locked by another lmbench process \(PID {holder.pid}\)"):
            Store(db, timeout=0.5)
        assert 0.4 < time.monotonic() - start < 5
    finally:
        holder.communicate("")
    with Store(db, timeout=0.5) as store:  # free again once the holder exits
        assert store.runs().empty


def test_bad_timeout_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMBENCH_DB_TIMEOUT", "soon")
    with pytest.raises(StoreError, match="LMBENCH_DB_TIMEOUT"):
        Store(tmp_path / "db.duckdb")


def test_misuse_errors(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    with Store(db) as store:
        with pytest.raises(StoreError, match="call upsert_model before start_run"):
            store.start_run(model_fingerprint="nope", config={}, seed=0, device="cpu", versions={}, git_sha=None,
                            command="x")
        with pytest.raises(StoreError, match="is not in"):
            store.write_samples("nope", _samples(1))
        run_id = _run(store)
        with pytest.raises(ValueError, match="missing columns"):
            store.write_results(run_id, _results().drop(columns=["metric"]))
        with pytest.raises(ValueError, match="unknown columns"):
            store.write_samples(run_id, _samples(1).assign(extra=1))
        with pytest.raises(ValueError, match="status"):
            store.finish_run(run_id, status="ok", timings={})
        assert store.write_samples(run_id, _samples(0)) == 0
    with Store(db, read_only=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.finish_run(run_id, status="done", timings={})
    with pytest.raises(StoreError, match="closed"):
        store.runs()


def test_store_imports_no_computing_packages() -> None:
    code = "import sys, lmbench.store; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
