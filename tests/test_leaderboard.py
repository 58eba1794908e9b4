"""`lmbench leaderboard`: specs, numbers equal to the database's, significance, escaping, missing tasks, bad input.

The database is written directly through `Store` (what `lmbench eval` writes, minus the model): a base model,
its bfloat16 copy, a LoRA candidate, and a model named `<script>alert(1)</script>` whose generated answer is
HTML. Per-question scores are fixed lists, so every expected number is known.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lmbench.errors import ConfigError
from lmbench.leaderboards import build_report, builtin_names, load_spec, write_report
from lmbench.leaderboards.render_html import script_json
from lmbench.metrics.paired import paired_compare
from lmbench.store import Store
from test_cli_errors import assert_one_line_error, run_cli

EVIL = "<script>alert(1)</script>"
EVIL_ANSWER = '<img src=x onerror="alert(2)"><b>bold</b></pre><script>alert(3)</script> & done'
N = 40
# Per-question accuracy on pubmedqa (0-shot): the LoRA candidate gets 14 more questions right than its base.
BASE_ACC = [1] * 10 + [0] * 30
LORA_ACC = [1] * 24 + [0] * 16
BF16_ACC = [1] * 11 + [0] * 29
SPEC = """
title: Tiny board
description: Test spec.
scale: 100
models:
  - {model: tiny-base, dtype: float32, label: Base}
  - {model: tiny-base, dtype: bfloat16, label: Base bf16, base: Base}
  - {model: tiny-lora, label: LoRA}
  - {model: evil0001, tables: [gen]}  # labelled with its name from the database
tables:
  - id: qa
    title: QA
    columns:
      - {task: pubmedqa, metric: acc, shots: 0, label: PubMedQA}
      - {task: mmlu_anatomy, metric: acc, shots: 5, label: Anatomy}
      - {task: medqa, metric: acc, shots: 0, label: MedQA}
    aggregate: {label: Average, method: mean}
    references:
      - source: A paper, Table 1
        scale: 100
        rows:
          - {model: Big model, values: {PubMedQA: 70.0, MedQA: 50.0}}
  - id: gen
    title: Generation
    examples: 1
    columns:
      - {task: hh_rlhf_helpful, metric: reward, label: Reward, scale: 1}
      - {task: hh_rlhf_helpful, metric: perplexity, label: PPL, better: lower, scale: 1}
"""


def _model(store: Store, fingerprint: str, name: str, *, dtype: str = "float32", kind: str = "hf_dir",
           base: str | None = None, lineage: dict | None = None) -> None:
    store.upsert_model(fingerprint=fingerprint, name=name, source=f"/models/{fingerprint}", kind=kind, revision=None,
                       dtype=dtype, n_params=1000, base_model=base, lineage=lineage or {}, identity={})


def _run(store: Store, fingerprint: str, task: str, shots: int, scores: list[float] | None, results: dict[str, float],
         *, status: str = "done", predictions: list[str] | None = None, metric: str = "acc") -> str:
    """One run of one task: per-question `metric` scores (if any) and the aggregate rows given."""
    task_hash = f"{task}-{shots}"
    store.upsert_task(task_hash=task_hash, name=task, version="1", family=task, config={"shots": shots})
    run_id = store.start_run(model_fingerprint=fingerprint, config={"task_shots": {task: shots}}, seed=1234,
                             device="cpu", versions={"lmbench": "0.1.0", "torch": "2.13.0"}, git_sha="abc123",
                             command=f"lmbench eval {fingerprint} --tasks {task} --shots {shots}")
    if scores is not None:
        store.write_samples(run_id, pd.DataFrame({
            "task": task, "task_hash": task_hash, "doc_id": [str(i) for i in range(len(scores))],
            "doc_hash": [f"doc{i}" for i in range(len(scores))],
            "prompt": [f"Question {i}?" for i in range(len(scores))],
            "target": "yes", "prediction": predictions or ["yes"] * len(scores),
            "metrics": [{metric: float(s)} for s in scores]}))
    store.write_results(run_id, pd.DataFrame([{"task": task, "task_hash": task_hash, "metric": m, "value": v,
                                               "stderr": 0.05, "ci_low": v - 0.1, "ci_high": v + 0.1, "n": N}
                                              for m, v in results.items()]))
    store.finish_run(run_id, status=status, timings={})
    return run_id


def build_db(path: Path) -> Path:
    """The database every test here reads (see the module docstring)."""
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    with Store(path) as store:
        _model(store, "base0001", "tiny-base")
        _model(store, "bf160001", "tiny-base", dtype="bfloat16")
        _model(store, "lora0001", "tiny-lora", kind="lora", base="tiny-base", lineage={"base_fingerprint": "base0001"})
        _model(store, "evil0001", EVIL)
        _run(store, "base0001", "pubmedqa", 0, [0] * N, {"acc": 0.0, "acc_norm": 0.0})  # older: superseded
        _run(store, "base0001", "pubmedqa", 0, BASE_ACC, {"acc": mean(BASE_ACC), "acc_norm": 0.3})
        _run(store, "base0001", "pubmedqa", 0, [1] * N, {"acc": 1.0, "acc_norm": 1.0}, status="failed")  # ignored
        _run(store, "base0001", "mmlu_anatomy", 5, None, {"acc": 0.30, "acc_norm": 0.31})
        _run(store, "base0001", "mmlu_anatomy", 0, None, {"acc": 0.20, "acc_norm": 0.21})  # other shots
        _run(store, "bf160001", "pubmedqa", 0, BF16_ACC, {"acc": mean(BF16_ACC), "acc_norm": 0.3})
        _run(store, "bf160001", "mmlu_anatomy", 5, None, {"acc": 0.35, "acc_norm": 0.3})
        _run(store, "lora0001", "pubmedqa", 0, LORA_ACC, {"acc": mean(LORA_ACC), "acc_norm": 0.5})
        _run(store, "evil0001", "hh_rlhf_helpful", 0, [0.5] * 3, {"reward": 0.5, "perplexity": 7.5},
             predictions=[EVIL_ANSWER] * 3, metric="reward")
    return path


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("board")
    db = build_db(folder / "board.duckdb")
    spec = folder / "tiny.yaml"
    spec.write_text(SPEC)
    out = folder / "report"
    result = run_cli("leaderboard", str(spec), "--db", str(db), "--out", str(out))
    assert result.returncode == 0, result.stderr
    html = (out / "index.html").read_text()
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    data = json.loads(block.group(1))
    return {"db": db, "spec": spec, "out": out, "html": html, "markdown": (out / "README.md").read_text(),
            "data": data, "stderr": result.stderr}


def _rows(data: dict, table: str) -> dict[str, dict]:
    return {r["label"]: r for t in data["tables"] if t["id"] == table for r in t["rows"]}


# -- specs ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["medical", "open-llm-v1", "hh-rlhf", "lmflow-nll"])
def test_builtin_specs_parse(name):
    spec = load_spec(name)
    assert name in builtin_names() and spec.tables and all(t.columns for t in spec.tables)
    for table in spec.tables:
        labels = [c.label for c in table.columns] + ([table.aggregate.label] if table.aggregate else [])
        for refs in table.references:
            assert refs.source and all(set(r.values) <= set(labels) for r in refs.rows)


def test_paper_reference_rows_match_the_reference_file(shared_data):
    """Every number of the paper's Tables 2-4 in the built-in specs equals the shared reference file's."""
    text = (shared_data / "reference" / "lmflow_paper_tables.md").read_text()
    published = {}
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        lines = [l for l in block.splitlines()[1:] if "," in l]
        header = lines[0].split(",")
        published[block.split(":")[0]] = {row.split(",")[0]: dict(zip(header, row.split(","))) for row in lines[1:]}
    checked = 0
    for spec_name, table_id, paper_table in (("medical", "table3", "Table 3"), ("medical", "table2", "Table 2"),
                                             ("open-llm-v1", "table4", "Table 4")):
        table = next(t for t in load_spec(spec_name).tables if t.id == table_id)
        rows = published[paper_table]
        for ref in table.references[0].rows:
            paper_row = rows[ref.label]
            paper_values = [v for k, v in paper_row.items() if k not in ("model", "size")]
            ours = [ref.values.get(label) for label in [c.label for c in table.columns] + [table.aggregate.label]]
            assert ours == [None if v == "-" else float(v) for v in paper_values], ref.label
            checked += 1
    assert checked == 8 + 8 + 17


def test_known_metric_names_are_the_families_declarations():
    from lmbench.leaderboards import metric_names
    from lmbench.tasks.base import MultipleChoiceTask
    from lmbench.tasks.generation import GENERATE_METRICS, REFERENCE_METRICS
    from lmbench.tasks.nll import NllTask, RollingTask

    expected = {"mmlu_anatomy": ("acc", "acc_norm"), "mmlu": ("acc", "acc_norm", "acc_macro", "acc_norm_macro"),
                "lmflow_nll_chat": NllTask.metrics, "lmflow_nll": NllTask.metrics + ("nll_macro",),
                "nll:any.json": NllTask.metrics, "ppl:x.json": RollingTask.metrics,
                "hh_rlhf_helpful": GENERATE_METRICS, "gen:x.json": GENERATE_METRICS + REFERENCE_METRICS,
                "open_llm_v1": ("average",), "not_a_task": MultipleChoiceTask.metrics}
    for task, metrics in expected.items():
        assert metric_names.expected_metrics(task) == metrics, task
    assert "acc_norm" in metric_names.expected_metrics("lm_eval:arc_challenge")
    assert NllTask.metrics == ("nll", "nll_per_token", "perplexity", "bits_per_byte", "scored_tokens")


@pytest.mark.parametrize("text, needles", [
    ("title: t\ntables: [{title: a, columns: [{task: x, metric: acc, shot: 5}]}]\n", ["unknown key 'shot'", "shots"]),
    ("title: t\ntables: [{title: a}]\n", ["missing `columns`"]),
    ("title: t\ntables: [{title: a, columns: [{task: x, metric: acc, better: up}]}]\n", ["'up'", "higher, lower"]),
    ("title: [unclosed\n", ["not valid YAML", "line"]),
    ("- just a list\n", ["YAML mapping"]),
    ("tables: [{title: a, columns: [{task: x, metric: acc, label: A}], references: [{source: s, scale: 100, "
     "rows: [{model: m, values: {B: 1}}]}]}]\n", ["missing `title`", "'B' is not a column", "2 problems"]),
    ("extends: medicall\n", ["no leaderboard spec 'medicall'", "did you mean medical"]),
])
def test_malformed_specs_say_what_and_where(tmp_path, text, needles):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_spec(str(spec))
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_extends_replaces_top_level_keys(tmp_path):
    spec = tmp_path / "mine.yaml"
    spec.write_text("extends: medical\ntitle: Mine\nmodels: [{model: m, label: M, tables: [table2]}]\n")
    parsed = load_spec(str(spec))
    assert parsed.title == "Mine" and [t.id for t in parsed.tables] == ["table3", "table2"]
    assert parsed.tables[1].models[0].tables == ("table2",)


# -- numbers -------------------------------------------------------------------------------------------------

def test_numbers_equal_the_database(board):
    """Recompute table `qa` from SQL: the latest finished run per (model, task, metric, shots)."""
    import duckdb

    con = duckdb.connect(str(board["db"]), read_only=True)
    expected = con.execute("""
        SELECT m.name, m.dtype, res.task, res.value, res.n, res.run_id FROM results res
        JOIN runs r USING (run_id) JOIN models m ON m.fingerprint = r.model_fingerprint
        WHERE r.status = 'done' AND res.metric = 'acc'
          AND CAST(json_extract(r.config, '$.task_shots') ->> res.task AS INTEGER) = ?
          AND res.task = ?
        QUALIFY row_number() OVER (PARTITION BY m.fingerprint ORDER BY r.started_at DESC) = 1
    """, [0, "pubmedqa"]).df()
    anatomy = con.execute("""
        SELECT m.dtype, res.value FROM results res JOIN runs r USING (run_id)
        JOIN models m ON m.fingerprint = r.model_fingerprint
        WHERE r.status = 'done' AND res.task = 'mmlu_anatomy' AND res.metric = 'acc'
          AND CAST(json_extract(r.config, '$.task_shots') ->> 'mmlu_anatomy' AS INTEGER) = 5
    """).df()
    con.close()
    rows = _rows(board["data"], "qa")
    labels = {("tiny-base", "float32"): "Base", ("tiny-base", "bfloat16"): "Base bf16",
              ("tiny-lora", "float32"): "LoRA"}
    for r in expected.itertuples():
        cell = rows[labels[(r.name, r.dtype)]]["cells"]["PubMedQA"]
        assert cell["value"] == r.value and cell["n"] == r.n and cell["run_id"] == r.run_id
    assert rows["Base"]["cells"]["PubMedQA"]["value"] == sum(BASE_ACC) / N  # not the older 0.0 nor the failed 1.0
    for r in anatomy.itertuples():
        assert rows["Base" if r.dtype == "float32" else "Base bf16"]["cells"]["Anatomy"]["value"] == r.value
    assert rows["Base"]["average"] is None  # MedQA is missing, so is the average
    # Displayed text: value x100 with its CI, in both outputs.
    assert "25.0 [15.0, 35.0]" in board["markdown"] and "25.0" in board["html"]


def test_missing_task_is_missing_not_zero(board):
    rows = _rows(board["data"], "qa")
    assert all(r["cells"]["MedQA"] is None for r in rows.values())
    assert rows["LoRA"]["cells"]["Anatomy"] is None
    assert "_missing_" in board["markdown"] and 'class="missing"' in board["html"]
    assert "no finished results for task 'medqa'" in board["stderr"]


def test_significance_against_the_base(board):
    """LoRA's base comes from its lineage, bf16's from the spec; marks follow paired_compare on matched questions."""
    rows = _rows(board["data"], "qa")
    assert rows["LoRA"]["base"] == "Base" and rows["Base bf16"]["base"] == "Base" and rows["Base"]["base"] is None
    lora = paired_compare(BASE_ACC, LORA_ACC)
    assert lora.mcnemar.p_value < 0.05 and paired_compare(BASE_ACC, BF16_ACC).mcnemar.p_value > 0.05
    line = next(l for l in board["markdown"].splitlines() if l.startswith("| LoRA |"))
    assert "\u25b2" in line and f"{lora.diff * 100:+.1f}" in board["markdown"]
    bf16 = next(l for l in board["markdown"].splitlines() if l.startswith("| Base bf16 |"))
    assert "\u25b2" not in bf16 and "\u25bc" not in bf16
    assert "Lineage" in board["markdown"] and "(LoRA adapter)" in board["markdown"]
    assert "float32 \u2192 bfloat16" in board["markdown"]


def test_reference_rows_are_apart_and_labelled(board):
    md = board["markdown"]
    assert "Reported (not measured here), from A paper, Table 1" in md and "| Big model | 70.0 | - | 50.0 | - |" in md
    assert "Reported, not measured here: A paper, Table 1" in board["html"]


def test_every_number_names_its_run_and_command(board):
    rows = _rows(board["data"], "qa")
    run_id = rows["LoRA"]["cells"]["PubMedQA"]["run_id"]
    assert f"run {run_id}" in board["html"] and "lmbench eval lora0001 --tasks pubmedqa --shots 0" in board["html"]
    assert f"`{run_id}`" in board["markdown"] and "torch 2.13.0" in board["markdown"]
    assert len(list((board["out"] / "plots").glob("*.png"))) == 5


# -- escaping ------------------------------------------------------------------------------------------------

def test_html_escapes_database_strings(board):
    html = board["html"]
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>" not in html and "&lt;img src=x onerror=" in html
    assert html.count("<script") == 2  # the JSON data block and our own script
    assert EVIL in _rows(board["data"], "gen")  # the JSON block keeps the name exactly
    assert "Content-Security-Policy" in html and not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", html)


def test_markdown_escapes_database_strings(board):
    md = board["markdown"]
    assert EVIL not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert EVIL_ANSWER in md.split("```text", 2)[2]  # the answer itself only inside a fenced block
    assert "<img" not in md.split("```text")[0]


def test_script_json_cannot_close_its_element():
    text = script_json({"a": "</script><script>alert(1)</script>&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>&"}


# -- the command line ----------------------------------------------------------------------------------------

def test_builtin_name_and_stdout(board):
    result = run_cli("leaderboard", "medical", "--db", str(board["db"]))
    assert result.returncode == 0, result.stderr
    assert "# Medical QA" in result.stdout and "Task-tuned LLaMA-33B (LoRA)" in result.stdout
    listed = run_cli("leaderboard", "--list")
    assert listed.returncode == 0 and "open-llm-v1" in listed.stdout


def test_unknown_metric_lists_what_the_database_has(board, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\ntables: [{title: a, columns: [{task: pubmedqa, metric: accuracy}]}]\n")
    assert_one_line_error(run_cli("leaderboard", str(spec), "--db", str(board["db"])),
                          "no metric 'accuracy'", "acc, acc_norm")
    spec.write_text("title: t\ntables: [{title: a, columns: [{task: medqa, metric: acc_nrom}]}]\n")
    assert_one_line_error(run_cli("leaderboard", str(spec), "--db", str(board["db"])),
                          "'acc_nrom' is not a metric", "did you mean acc_norm")


@pytest.mark.parametrize("args, needles", [
    (["no-such-board"], ["no leaderboard spec 'no-such-board'", "built-ins: hh-rlhf"]),
    ([], ["no spec given"]),
])
def test_bad_arguments_exit_2(board, args, needles):
    assert_one_line_error(run_cli("leaderboard", *args, "--db", str(board["db"])), *needles)


def test_malformed_spec_exits_2_before_opening_the_database(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\ntables:\n  - title: a\n    columns: {task: x}\n")
    result = run_cli("leaderboard", str(spec), "--db", str(tmp_path / "absent.duckdb"))
    assert_one_line_error(result, "s.yaml", "tables[0].columns must be a non-empty list")


def test_unknown_model_and_missing_database(board, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nmodels: [gpt-17]\ntables: [{title: a, columns: [{task: pubmedqa, metric: acc}]}]\n")
    assert_one_line_error(run_cli("leaderboard", str(spec), "--db", str(board["db"])), "no model 'gpt-17'",
                          "known models")
    assert_one_line_error(run_cli("leaderboard", "medical", "--db", str(tmp_path / "none.duckdb")), "does not exist")


def test_default_rows_are_every_evaluated_model(board, tmp_path):
    spec = load_spec("medical")
    with Store(board["db"], read_only=True) as store:
        report = build_report(store, spec)
    labels = [r.label for r in report.tables[0].rows]
    assert labels == ["tiny-base (bfloat16)", "tiny-base (float32)", "tiny-lora"]
    lora = report.tables[0].rows[2]
    assert lora.base_label == "tiny-base (float32)"
    files = write_report(report, tmp_path / "r")
    assert {f.name for f in files[:2]} == {"README.md", "index.html"}


@pytest.mark.parametrize("aggregate, expected", [
    ("{label: Avg, method: mean}", (0.25 + 0.30) / 2),
    ("{label: Avg, method: weighted, weights: {PubMedQA: 3, Anatomy: 1}}", (3 * 0.25 + 0.30) / 4),
    ("{label: Avg, method: weighted}", (40 * 0.25 + 40 * 0.30) / 80),  # by number of questions
])
def test_aggregates(board, tmp_path, aggregate, expected):
    spec = tmp_path / "agg.yaml"
    spec.write_text("title: t\nmodels: [{model: tiny-base, dtype: float32}]\ntables: [{title: a, aggregate: "
                    f"{aggregate}, columns: [{{task: pubmedqa, metric: acc, shots: 0, label: PubMedQA}}, "
                    "{task: mmlu_anatomy, metric: acc, shots: 5, label: Anatomy}]}]\n")
    with Store(board["db"], read_only=True) as store:
        report = build_report(store, load_spec(str(spec)))
    assert report.tables[0].rows[0].average == pytest.approx(expected)


def test_group_rows_take_their_members_shots(tmp_path):
    """The runner records a group (`mmlu`) without shots: a run's uniform shots, else its members', apply."""
    with Store(tmp_path / "g.duckdb") as store:
        _model(store, "base0001", "tiny-base")
        for task_shots, value in (({"mmlu_anatomy": 5, "mmlu_virology": 5}, 0.4),
                                  ({"mmlu_anatomy": 0, "mmlu_virology": 0}, 0.3),
                                  ({"lm_eval:arc_challenge": 25, "mmlu_anatomy": 5, "mmlu_virology": 5}, 0.5)):
            run_id = store.start_run(model_fingerprint="base0001", config={"task_shots": task_shots}, seed=0,
                                     device="cpu", versions={}, git_sha=None, command="lmbench eval")
            store.write_results(run_id, pd.DataFrame([{"task": "mmlu", "metric": "acc_macro", "value": value}]))
            store.finish_run(run_id, status="done", timings={})
    from lmbench.leaderboards.database import ResultsView

    with Store(tmp_path / "g.duckdb", read_only=True) as store:
        view = ResultsView(store)
        assert list(view.results["shots"]) == [5, 0, 5]
        assert view.cell("base0001", "mmlu", "acc_macro", 0).value == 0.3
        assert view.cell("base0001", "mmlu", "acc_macro", 5).value == 0.5  # the latest 5-shot run
