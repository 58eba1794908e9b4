"""The leaderboard's training curves: per-iteration rewards of the RAFT / RLOO runs that made the report's rows.

The database is written through `Store` as `lmbench tune raft|rloo|dpo` write it (lmbench.tuning.raft_record):
an SFT model; a RAFT run that made `raft/iter-1` (lineage edge naming the run) and the final candidate (the
run's candidate_fingerprint); an RLOO run linked only by the lineage edge into its model (no candidate
recorded: it was interrupted); a DPO run that logs losses and implicit rewards, not sampled rewards (no curve);
and a RAFT run whose model is not in the report (no curve). Model name and command are HTML.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lmbench.errors import ConfigError
from lmbench.leaderboards import build_report, load_spec, write_report
from lmbench.store import Store
from test_cli_errors import assert_one_line_error, run_cli
from test_leaderboard import _model, _run

EVIL = "<script>alert(1)</script>"
EVIL_COMMAND = 'lmbench tune raft output_dir="<img src=x onerror=alert(2)>" | x'
# What RAFT logs per iteration (lmbench.tuning.raft: step = iteration, 0 = the start, held-out reward only).
RAFT_LOG = [{"step": 0, "heldout_reward": -1.118954},
            {"step": 1, "reward_mean_all": -1.418641, "reward_mean_kept": -1.068587, "heldout_reward": -1.134281,
             "n_generated": 64, "n_kept": 16, "n_discarded": 1, "train_loss": 1.911853, "kept_hash": "e3f4"},
            {"step": 2, "reward_mean_all": -1.871107, "reward_mean_kept": -1.595125, "heldout_reward": -0.671315,
             "n_generated": 64, "n_kept": 16, "n_discarded": 0, "train_loss": 2.127739, "kept_hash": "2db6"}]
RLOO_LOG = [{"step": 1, "reward": -2.262747, "reward_std": 0.761666, "loss": -4.7e-08, "kl": 0.0},
            {"step": 2, "reward": -1.479626, "reward_std": 0.995296, "loss": -2.8e-09, "kl": -5.7e-06}]
DPO_LOG = [{"step": 5, "loss": 0.69, "rewards/chosen": 0.01, "rewards/margins": 0.002}]
SPEC = """
title: Curves board
models:
  - {model: sft, label: SFT}
  - {model: raft, label: SFT + RAFT, base: SFT}
  - {model: raft/iter-1, label: RAFT iteration 1, base: SFT}
  - {model: rloo0001}   # labelled with its name from the database (HTML)
  - {model: dpo, label: SFT + DPO, base: SFT}
tables:
  - id: helpful
    title: Helpful
    columns:
      - {task: hh_rlhf_helpful, metric: reward, label: Reward}
"""


def _training(store: Store, recipe: str, base: str, log: list[dict], *, made: list[str], candidate: str | None,
              status: str = "done", command: str | None = None) -> str:
    """A training run that made the models `made` (each registered with a lineage edge naming the run)."""
    run_id = store.start_training_run(recipe=recipe, config={"kind": recipe}, recipe_hash=f"{recipe}-hash",
                                      base_fingerprint=base, output_dir=f"/out/{recipe}", seed=1, data_hashes=[],
                                      command=command or f"lmbench tune {recipe}")
    store.log_train(run_id, pd.DataFrame(log))
    parent = base
    for iteration, fingerprint in enumerate(made, start=1):
        store.add_lineage(fingerprint, parent, recipe, {"recipe": recipe, "training_run_id": run_id,
                                                        "iteration": iteration})
        parent = fingerprint
    store.finish_training_run(run_id, status=status, candidate_fingerprint=candidate)
    return run_id


def build_db(path: Path, *, with_reward_runs: bool = True) -> dict[str, str]:
    ids = {}
    with Store(path) as store:
        for fingerprint, name in (("sft00001", "sft"), ("iter0001", "raft/iter-1"), ("raft0002", "raft"),
                                  ("rloo0001", EVIL), ("dpo00001", "dpo"), ("other001", "other-raft")):
            _model(store, fingerprint, name)
            _run(store, fingerprint, "hh_rlhf_helpful", 0, [0.1, 0.2, 0.3], {"reward": 0.2}, metric="reward")
        if with_reward_runs:
            ids["raft"] = _training(store, "raft", "sft00001", RAFT_LOG, made=["iter0001", "raft0002"],
                                    candidate="raft0002", command=EVIL_COMMAND)
            ids["rloo"] = _training(store, "rloo", "sft00001", RLOO_LOG, made=["rloo0001"], candidate=None,
                                    status="interrupted")
            ids["other"] = _training(store, "raft", "sft00001", RAFT_LOG, made=["other001"], candidate="other001")
        ids["dpo"] = _training(store, "dpo", "sft00001", DPO_LOG, made=["dpo00001"], candidate="dpo00001")
    return ids


def _render(db: Path, spec_text: str, out: Path) -> dict:
    spec = out.parent / f"{out.name}.yaml"
    spec.write_text(spec_text)
    with Store(db, read_only=True) as store:
        report = build_report(store, load_spec(str(spec)))
    files = write_report(report, out)
    html = (out / "index.html").read_text()
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    return {"report": report, "files": files, "html": html, "markdown": (out / "README.md").read_text(),
            "data": json.loads(block.group(1)), "out": out}


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("curves")
    ids = build_db(folder / "curves.duckdb")
    return {**_render(folder / "curves.duckdb", SPEC, folder / "report"), "ids": ids, "db": folder / "curves.duckdb"}


def _md_table(markdown: str, run_id: str) -> dict[str, dict[str, str]]:
    """The per-iteration table under a run's heading: iteration -> column -> text."""
    section = re.split(r"\n##+ ", markdown.split(f"run `{run_id}`", 1)[1], maxsplit=1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    heads = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    return {row[0]: dict(zip(heads[1:], row[1:])) for row in rows}


def test_curves_belong_to_the_runs_that_made_the_rows(board):
    curves = board["report"].curves
    assert [(c.run_id, c.recipe, c.status) for c in curves] == [(board["ids"]["raft"], "raft", "done"),
                                                                (board["ids"]["rloo"], "rloo", "interrupted")]
    assert curves[0].models == ("SFT + RAFT", "RAFT iteration 1")  # the candidate and an iteration, one run
    assert curves[1].models == (EVIL,)  # linked through its lineage edge only
    assert board["ids"]["dpo"] not in board["markdown"] and board["ids"]["other"] not in board["markdown"]


def test_curve_png_is_written_and_linked_from_the_markdown(board):
    raft = board["ids"]["raft"]
    png = board["out"] / "plots" / f"training-raft-{raft[:8]}.png"
    assert png in board["files"] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert f"](plots/training-raft-{raft[:8]}.png)" in board["markdown"]
    assert sorted(p.name for p in (board["out"] / "plots").glob("training-*.png")) == sorted(
        [png.name, f"training-rloo-{board['ids']['rloo'][:8]}.png"])


def test_html_embeds_the_curve(board):
    raft = board["ids"]["raft"]
    section = board["html"].split('<section id="training-curves">', 1)[1].split("</section>", 1)[0]
    block = section.split(f'<div class="curve" id="curve-{raft}">', 1)[1].split('<div class="curve"', 1)[0]
    svg = block[block.index("<svg"):block.index("</svg>")]
    for text in ("RAFT reward per iteration", "all samples", "kept samples", "held-out (greedy)"):
        assert text in svg, text  # the figure inline, its text kept as text
    assert "<td>-1.4186</td>" in block and "<td>64</td>" in block


def test_markdown_table_holds_the_logged_numbers(board):
    raft = _md_table(board["markdown"], board["ids"]["raft"])
    names = {"all samples": "reward_mean_all", "kept samples": "reward_mean_kept", "held-out (greedy)":
             "heldout_reward", "sampled": "n_generated", "kept": "n_kept", "discarded": "n_discarded",
             "train loss": "train_loss"}
    assert list(raft) == ["0", "1", "2"] and list(raft["1"]) == list(names)
    for logged in RAFT_LOG:
        row = raft[str(logged["step"])]
        for label, metric in names.items():
            value = logged.get(metric)
            expected = "-" if value is None else (f"{value:.0f}" if metric.startswith("n_") else f"{value:.4f}")
            assert row[label] == expected, (logged["step"], label)
    rloo = _md_table(board["markdown"], board["ids"]["rloo"])
    assert rloo == {"1": {"sampled completions": "-2.2627", "reward std": "0.7617"},
                    "2": {"sampled completions": "-1.4796", "reward std": "0.9953"}}


def test_data_block_keeps_the_logged_values(board):
    curves = {c["run_id"]: c for c in board["data"]["training_curves"]}
    raft = curves[board["ids"]["raft"]]
    assert raft["steps"] == [0, 1, 2]
    assert raft["series"]["reward_mean_all"] == [None, -1.418641, -1.871107]
    assert raft["series"]["heldout_reward"] == [r["heldout_reward"] for r in RAFT_LOG]
    assert curves[board["ids"]["rloo"]]["series"]["reward"] == [-2.262747, -1.479626]


def test_database_strings_are_escaped(board):
    md, html = board["markdown"], board["html"]
    section = md.split("## Training curves", 1)[1]
    assert EVIL not in section and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "<img" not in section and "\\| x" in section  # the command's `|` cannot split a table
    assert EVIL not in html and "<img" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert html.count("<script") == 2


def test_no_section_without_reward_runs(tmp_path):
    db = tmp_path / "plain.duckdb"
    build_db(db, with_reward_runs=False)  # only the DPO run: losses and implicit rewards, no sampled rewards
    plain = _render(db, SPEC, tmp_path / "plain")
    assert plain["report"].curves == [] and plain["data"]["training_curves"] == []
    assert "Training curves" not in plain["markdown"] and 'id="training-curves"' not in plain["html"]
    assert not list((tmp_path / "plain" / "plots").glob("training-*"))


def test_training_curves_false_drops_the_section(board, tmp_path):
    off = _render(board["db"], SPEC + "training_curves: false\n", tmp_path / "off")
    assert off["report"].curves == [] and "Training curves" not in off["markdown"]
    assert not list((tmp_path / "off" / "plots").glob("training-*"))
    assert load_spec(str(tmp_path / "off.yaml")).training_curves is False


def test_bad_training_curves_value_is_one_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC + "training_curves: sometimes\n")
    with pytest.raises(ConfigError) as info:
        load_spec(str(spec))
    assert "\n" not in str(info.value) and "training_curves must be true or false" in str(info.value)
    assert_one_line_error(run_cli("leaderboard", str(spec), "--db", str(tmp_path / "absent.duckdb")),
                          "bad.yaml", "training_curves must be true or false", "got str 'sometimes'")


def test_a_rerun_that_made_the_same_model_shows_once_the_latest(tmp_path):
    """RAFT is deterministic: a rerun with other selection prompts can end at the same model. Its row shows the
    latest run whose final candidate it is, not both, and not an older run that made it as an iteration. (An
    iteration's lineage edge keeps the run that first recorded it, so `RAFT iteration 1` stays with that one.)"""
    db = tmp_path / "rerun.duckdb"
    ids = build_db(db)
    with Store(db) as store:
        _model(store, "raft0003", "raft-3x8")
        _run(store, "raft0003", "hh_rlhf_helpful", 0, [0.1, 0.2, 0.3], {"reward": 0.2}, metric="reward")
        as_iteration = _training(store, "raft", "sft00001", RAFT_LOG, made=["raft0002", "raft0003"],
                                 candidate="raft0003")  # newer, but raft0002 is only its iteration 1
        again = [{**row, "heldout_reward": row["heldout_reward"] + 0.5} for row in RAFT_LOG]
        latest = _training(store, "raft", "sft00001", again, made=["iter0001", "raft0002"], candidate="raft0002")
    spec = SPEC.replace("  - {model: rloo0001}", "  - {model: raft-3x8, label: RAFT 3x8, base: SFT}")
    curves = _render(db, spec, tmp_path / "report")["report"].curves
    assert [(c.run_id, c.models) for c in curves] == [(latest, ("SFT + RAFT",)), (ids["raft"], ("RAFT iteration 1",)),
                                                      (as_iteration, ("RAFT 3x8",))]
    held_out = next(s for s in curves[0].series if s.metric == "heldout_reward")
    assert held_out.values[0] == pytest.approx(RAFT_LOG[0]["heldout_reward"] + 0.5)
