"""Publish and pull through huggingface_hub against a LOCAL STAND-IN of the Hub (tests/hub_standin.py).

The real Hub is not reachable here: the client (HfApi(endpoint=...), create_commit, snapshot_download)
talks to an in-memory server on 127.0.0.1 serving the endpoints it calls. The card must parse with
`huggingface_hub.ModelCard` and carry the database's numbers; the pulled model's fingerprint must equal
the target's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli import run_cli
from hub_standin import HubStandIn
from zoo_models import derive

from lmbench.zoo.delta import make_delta

REPO = "lmbench-test/tiny-delta"


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tiny import build_tiny_model

    folder = tmp_path_factory.mktemp("zoo_hub")
    base = build_tiny_model(folder / "base", arch="llama", seed=6)
    target = derive(base, folder / "target", seed=13)
    manifest = make_delta(str(base), str(target), folder / "delta")
    db = folder / "results.duckdb"
    for limit in ("4", "6"):  # two runs: the card shows the latest
        done = run_cli("eval", str(target), "--limit", limit, "--db", str(db), "--no-progress")
        assert done.returncode == 0, done.stderr
    return {"folder": folder, "base": base, "target": target, "delta": folder / "delta", "manifest": manifest, "db": db}


def _env(tmp_path: Path) -> dict[str, str]:
    # The conftest sets HF_HUB_OFFLINE=1; the stand-in is local, so the client may go "online" to it.
    return {"HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_standin_token", "HF_HOME": str(tmp_path / "hf"),
            "LMBENCH_CACHE": str(tmp_path / "cache")}


def _db_results(db: Path, fingerprint: str) -> dict[tuple[str, str], tuple[float, int, float, float]]:
    from lmbench import api

    frame = api.results(str(db))
    frame = frame[frame["fingerprint"] == fingerprint].sort_values("started_at")
    frame = frame.drop_duplicates(["task", "metric"], keep="last")
    return {(r.task, r.metric): (r.value, r.n, r.ci_low, r.ci_high) for r in frame.itertuples()}


def test_publish_and_pull_round_trip(evaluated: dict, tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    zoo, env = tmp_path / "zoo", _env(tmp_path)
    fingerprint = evaluated["manifest"]["target"]["fingerprint"]
    with HubStandIn() as hub:
        done = run_cli("zoo", "publish", str(evaluated["delta"]), "--repo", REPO, "--endpoint", hub.endpoint,
                       "--zoo-dir", str(zoo), "--db", str(evaluated["db"]), env=env)
        assert done.returncode == 0, done.stderr
        repo = hub.repos[REPO]
        assert not repo.private
        assert {"README.md", "zoo_delta.json", "delta-00001-of-00001.safetensors", "target/config.json"} <= set(repo.files)
        assert "POST /api/validate-yaml" in hub.calls and f"POST /api/models/{REPO}/preupload/main" in hub.calls
        card = ModelCard(repo.files["README.md"].decode())
        assert card.data.base_model == "base" and card.data.lmbench["fingerprint"] == fingerprint
        expected = _db_results(evaluated["db"], fingerprint)
        got = {(r.task_name, r.metric_type): (r.metric_value, r.metric_args["n"], *r.metric_args["ci95"])
               for r in card.data.eval_results}
        assert got.keys() == expected.keys() and len(got) >= 2
        for key, (value, n, low, high) in expected.items():
            assert got[key][0] == pytest.approx(value) and got[key][1] == n == 6
            assert got[key][2:] == (pytest.approx(low, abs=1e-6), pytest.approx(high, abs=1e-6))
        assert f"lmbench zoo pull {REPO} --base BASE_DIR --out MODEL_DIR" in card.text
        assert "lmbench eval MODEL_DIR --tasks lmbench_sample --limit 6" in card.text
        entry = json.loads((zoo / "lmbench-test--tiny-delta.json").read_text())
        assert entry["revision"] == repo.commits[-1] and entry["fingerprint"] == fingerprint
        assert (zoo / "lmbench-test--tiny-delta.md").read_text() == repo.files["README.md"].decode()

        out = tmp_path / "pulled"
        done = run_cli("zoo", "pull", REPO, "--base", str(evaluated["base"]), "--out", str(out),
                       "--zoo-dir", str(zoo), env=env)  # endpoint and revision from the zoo entry
        assert done.returncode == 0, done.stderr
        assert any(c.startswith(f"GET /{REPO}/resolve/{repo.commits[-1]}/") for c in hub.calls)
        other = tmp_path / "pulled-no-entry"
        done = run_cli("zoo", "pull", REPO, "--base", str(evaluated["base"]), "--out", str(other),
                       "--endpoint", hub.endpoint, "--zoo-dir", str(tmp_path / "empty-zoo"), env=env)
        assert done.returncode == 0, done.stderr
    from lmbench.models.loader import inspect_checkpoint

    assert inspect_checkpoint(str(out)).fingerprint == fingerprint == inspect_checkpoint(str(other)).fingerprint
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        assert (out / name).read_bytes() == (evaluated["target"] / name).read_bytes()
    listed = run_cli("zoo", "list", "--zoo-dir", str(zoo), "--format", "csv")
    assert listed.returncode == 0 and f"{REPO},delta,hub,base," in listed.stdout


def test_publish_local_then_eval_the_entry_offline(evaluated: dict, tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    env = {"LMBENCH_CACHE": str(tmp_path / "cache"), "LMBENCH_ZOO": str(zoo)}  # HF_HUB_OFFLINE=1: no network
    done = run_cli("zoo", "publish", str(evaluated["delta"]), "--repo", REPO, "--local", "--db", str(evaluated["db"]),
                   env=env)
    assert done.returncode == 0, done.stderr
    assert (zoo / "files" / "lmbench-test--tiny-delta" / "zoo_delta.json").is_file()
    refused = run_cli("eval", REPO, "--limit", "2", "--db", str(tmp_path / "r.duckdb"), env=env)
    assert refused.returncode == 2 and f"lmbench eval {REPO} --base BASE" in refused.stderr
    done = run_cli("eval", REPO, "--base", str(evaluated["base"]), "--limit", "4", "--db", str(tmp_path / "r.duckdb"),
                   "--no-progress", env=env)
    assert done.returncode == 0, done.stderr
    from lmbench import api

    runs = api.runs(str(tmp_path / "r.duckdb"))
    assert list(runs["fingerprint"]) == [evaluated["manifest"]["target"]["fingerprint"]]
    out = tmp_path / "pulled"
    done = run_cli("zoo", "pull", REPO, "--base", str(evaluated["base"]), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert (out / "model.safetensors").read_bytes() == (evaluated["target"] / "model.safetensors").read_bytes()


def test_pull_refuses_a_changed_repository(evaluated: dict, tmp_path: Path) -> None:
    zoo, env = tmp_path / "zoo", _env(tmp_path)
    with HubStandIn() as hub:
        done = run_cli("zoo", "publish", str(evaluated["delta"]), "--repo", REPO, "--endpoint", hub.endpoint,
                       "--zoo-dir", str(zoo), "--db", str(evaluated["db"]), "--private", env=env)
        assert done.returncode == 0, done.stderr
        assert hub.repos[REPO].private
        no_token = {**env, "HF_TOKEN": ""}
        done = run_cli("zoo", "pull", REPO, "--base", str(evaluated["base"]), "--out", str(tmp_path / "o"),
                       "--endpoint", hub.endpoint, "--zoo-dir", str(tmp_path / "empty"), env=no_token)
        assert done.returncode == 2 and done.stderr.startswith(f"lmbench: error: could not download {REPO}")
        entry_file = zoo / "lmbench-test--tiny-delta.json"
        entry = json.loads(entry_file.read_text())
        entry["files"]["zoo_delta.json"] = "0" * 64
        entry_file.write_text(json.dumps(entry))
        done = run_cli("zoo", "pull", REPO, "--base", str(evaluated["base"]), "--out", str(tmp_path / "o"),
                       "--zoo-dir", str(zoo), env=env)
    assert done.returncode == 2 and "zoo_delta.json of lmbench-test/tiny-delta is missing or differs" in done.stderr
    assert not (tmp_path / "o").exists()
