"""A delta is a checkpoint source: `lmbench eval DELTA --base BASE` recovers once into the cache and evaluates."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from cli import run_cli
from zoo_models import derive

from lmbench.zoo.delta import make_delta


@pytest.fixture(scope="module")
def delta_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, dict]:
    from tiny import build_tiny_model

    folder = tmp_path_factory.mktemp("zoo_source")
    base = build_tiny_model(folder / "base", arch="llama", seed=5)
    target = derive(base, folder / "target", seed=12)
    manifest = make_delta(str(base), str(target), folder / "delta")
    return base, target, folder / "delta", manifest


def test_delta_without_base_is_refused_with_the_command(delta_case: tuple, tmp_path: Path) -> None:
    base, _, delta, manifest = delta_case
    done = run_cli("eval", str(delta), "--limit", "2", "--db", str(tmp_path / "r.duckdb"))
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "is an lmbench delta, not a model" in line
    assert f"lmbench eval {delta} --base BASE" in line and f"lmbench zoo apply-delta --base BASE --delta {delta}" in line
    assert manifest["base"]["fingerprint"] in line


def test_eval_delta_recovers_once_and_records_lineage(delta_case: tuple, tmp_path: Path) -> None:
    base, target, delta, manifest = delta_case
    env = {"LMBENCH_CACHE": str(tmp_path / "cache")}
    db = tmp_path / "r.duckdb"
    args = ("eval", str(delta), "--base", str(base), "--limit", "3", "--db", str(db), "--no-progress")
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "recovering delta" in first.stderr
    second = run_cli(*args, "--force", env=env)
    assert second.returncode == 0, second.stderr
    assert "recovering delta" not in second.stderr  # the cached recovery is reused
    recovered = list((tmp_path / "cache" / "zoo" / "recovered").iterdir())
    assert len(recovered) == 1
    assert (recovered[0] / "model.safetensors").read_bytes() == (target / "model.safetensors").read_bytes()
    con = duckdb.connect(str(db), read_only=True)
    fp, kind, base_model, lineage = con.execute("SELECT fingerprint, kind, base_model, lineage FROM models").fetchone()
    runs = con.execute("SELECT DISTINCT model_fingerprint FROM runs").fetchall()
    assert fp == manifest["target"]["fingerprint"] and runs == [(fp,)]
    assert kind == "delta" and base_model == "base"
    assert json.loads(lineage) == {"base_fingerprint": manifest["base"]["fingerprint"], "relation": "delta"}
    con.close()
    done = run_cli("eval", str(base), "--limit", "3", "--db", str(db), "--no-progress", env=env)
    assert done.returncode == 0, done.stderr
    from lmbench.store import Store

    with Store(db, read_only=True) as store:
        edges = store.ancestry(fp)
    assert [(e.child, e.parent, e.relation) for e in edges.itertuples()] == [
        (fp, manifest["base"]["fingerprint"], "delta")]


def test_eval_delta_with_wrong_base_is_refused(delta_case: tuple, tmp_path: Path) -> None:
    _, target, delta, _ = delta_case
    done = run_cli("eval", str(delta), "--base", str(target), "--limit", "2", "--db", str(tmp_path / "r.duckdb"),
                   env={"LMBENCH_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 2 and done.stderr.startswith("lmbench: error: wrong base")
    assert not (tmp_path / "cache" / "zoo" / "recovered").exists()
