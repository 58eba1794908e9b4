"""Bad input of every kind (issue [8]): options, data files, checkpoints, databases, output paths, names, signals.

Each case asserts the exit code, a one-line `lmbench: error:` without a traceback, and that the rows of the
database and every file present before are intact. Commands run in this process through the real CLI entry
point (`lmbench.cli.app.main`, torch imported once); the signal cases run `python -m lmbench eval` in a
subprocess and signal it in the middle of a run.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

QUESTIONS = [{"question": f"Which number is {i}?", "choices": ["one", "two"], "answer": i % 2} for i in range(6)]
SPEC = "title: Board\ntables: [{title: QA, columns: [{task: 'mcq:q.jsonl', metric: acc, label: Acc}]}]\n"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def invoke(*args: str) -> Result:
    """`lmbench ARGS` through the real entry point, in this process; an escaping exception is a traceback."""
    from lmbench.cli.app import main

    out, err, code = io.StringIO(), io.StringIO(), 0
    argv = sys.argv
    sys.argv = ["lmbench", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - what a user would see as a traceback
        err.write(traceback.format_exc())
        code = 1
    finally:
        sys.argv = argv
    return Result(code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: Result, *needles: str, code: int = 2) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == code, (result.code, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("lmbench: error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _db_digest(path: Path) -> str:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        rows = {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
    finally:
        con.close()
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under `roots`: the rows of DuckDB files (their bytes may move on open), the bytes of others."""
    state = {}
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            if path.name.endswith(".wal"):
                continue
            head = path.read_bytes()[:12]
            state[str(path)] = _db_digest(path) if head[8:12] == b"DUCK" else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def run_count(db: Path) -> int:
    from lmbench.store import Store

    with Store(db, read_only=True) as store:
        return len(store.runs())


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Ledger and hash memos of this module in their own folder, not the user's cache."""
    old = os.environ.get("LMBENCH_CACHE")
    os.environ["LMBENCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("LMBENCH_CACHE", None)
    else:
        os.environ["LMBENCH_CACHE"] = old


@pytest.fixture(scope="module")
def seed_world(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """q.jsonl, spec.yaml and a database holding one finished run of the tiny model on q.jsonl."""
    world = tmp_path_factory.mktemp("world")
    (world / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    (world / "spec.yaml").write_text(SPEC)
    cwd = Path.cwd()
    os.chdir(world)
    try:
        ok = invoke("eval", str(tiny_llama), "--tasks", "mcq:q.jsonl", "--db", "runs.duckdb", "--no-progress")
    finally:
        os.chdir(cwd)
    assert ok.code == 0, ok.stderr
    return world


@pytest.fixture()
def world(seed_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the seed world as the current folder."""
    here = tmp_path / "w"
    shutil.copytree(seed_world, here)
    monkeypatch.chdir(here)
    return here


# ------------------------------------------------------------------ options: fail before any file is read

EVAL_OPTIONS = [
    (["--max-length", "0"], "--max-length 0"),
    (["--max-length", "-5"], "--max-length -5"),
    (["--limit", "0"], "--limit 0"),
    (["--limit", "-1"], "--limit -1"),
    (["--sample", "0"], "--sample 0"),
    (["--sample", "2", "--limit", "2"], "cannot be combined"),
    (["--shots", "-1"], "--shots -1"),
    (["--max-new-tokens", "0"], "--max-new-tokens 0"),
    (["--write-every", "0"], "--write-every 0"),
    (["--batch-size", "0"], "--batch-size '0'"),
    (["--batch-size", "-4"], "--batch-size '-4'"),
    (["--batch-size", "lots"], "--batch-size 'lots'"),
    (["--temperature", "-1"], "--temperature -1"),
    (["--temperature", "nan"], "--temperature nan"),
    (["--seed", "-1"], "--seed -1"),
    (["--dtype", "float8"], "--dtype 'float8'"),
    (["--device", "tpu"], "--device 'tpu'"),
]


@pytest.mark.parametrize("options, needle", EVAL_OPTIONS, ids=[" ".join(o) for o, _ in EVAL_OPTIONS])
def test_eval_option_out_of_range(world, tiny_llama, options, needle):
    """Checked before anything is read: the data file named does not even exist, nor does the database."""
    before = snapshot(world, tiny_llama)
    result = invoke("eval", str(tiny_llama), "--tasks", "mcq:missing.jsonl", "--db", "new.duckdb", *options)
    assert_one_line_error(result, needle)
    assert snapshot(world, tiny_llama) == before and not (world / "new.duckdb").exists()


OTHER_OPTIONS = [
    (["generate", "--max-new-tokens", "0", "./no/model"], "--max-new-tokens 0"),
    (["generate", "--top-p", "0", "./no/model"], "--top-p 0"),
    (["generate", "--temperature", "inf", "./no/model"], "--temperature inf"),
    (["compare", "a", "b", "--seed", "-3", "--db", "runs.duckdb"], "--seed -3"),
    (["results", "--format", "xml", "--db", "runs.duckdb"], "--format 'xml'"),
    (["results", "--format", "parquet", "--db", "runs.duckdb"], "--out FILE.parquet"),
]


@pytest.mark.parametrize("args, needle", OTHER_OPTIONS, ids=[" ".join(a[:3]) for a, _ in OTHER_OPTIONS])
def test_other_command_option_out_of_range(world, args, needle):
    before = snapshot(world)
    assert_one_line_error(invoke(*args), needle)
    assert snapshot(world) == before


# ------------------------------------------------------------------ data files

def _write_gz(folder: Path, payload: bytes) -> None:
    target = folder / "hh-rlhf" / "helpful-base" / "test.jsonl.gz"
    target.parent.mkdir(parents=True)
    target.write_bytes(payload)


def _data_case(name: str, world: Path) -> tuple[list[str], tuple[str, ...]]:
    line = json.dumps(QUESTIONS[0]) + "\n"
    if name == "duplicate-ids":
        rows = [{**QUESTIONS[0], "id": "a"}, {**QUESTIONS[1], "id": "b"}, {**QUESTIONS[2], "id": "a"}]
        (world / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return ["--tasks", "mcq:d.jsonl"], ("d.jsonl:3", "'a'", "line 1")
    if name == "duplicate-ids-nll":
        rows = [{"id": "x", "text": "one two"}, {"id": "x", "text": "three four"}]
        (world / "n.jsonl").write_text(json.dumps({"type": "text_only"}) + "\n" + "".join(json.dumps(r) + "\n" for r in rows))
        return ["--tasks", "nll:n.jsonl"], ("n.jsonl", "'x'", "used twice")
    if name == "truncated-gzip":
        _write_gz(world / "data", gzip.compress(("".join(json.dumps({"chosen": f"\n\nHuman: hi {i}\n\nAssistant: yo"})
                                                         + "\n" for i in range(50))).encode())[:-20])
        return ["--tasks", "hh_rlhf_helpful", "--data-dir", "data"], ("test.jsonl.gz", "truncated")
    if name == "not-gzip":
        _write_gz(world / "data", b"plain text, not gzip\n")
        return ["--tasks", "hh_rlhf_helpful", "--data-dir", "data"], ("test.jsonl.gz", "not a complete gzip file")
    if name == "bad-json-line":
        (world / "b.jsonl").write_text(line + "{not json\n")
        return ["--tasks", "mcq:b.jsonl"], ("b.jsonl:2", "not valid JSON")
    if name == "not-utf8":
        (world / "u.jsonl").write_bytes(line.encode() + b'{"question": "\xff\xfe"}\n')
        return ["--tasks", "mcq:u.jsonl"], ("u.jsonl", "not UTF-8")
    if name == "csv-missing-question":
        (world / "c.csv").write_text("prompt,A,B,answer\nq,x,y,A\n")
        return ["--tasks", "mcq:c.csv"], ("c.csv:2", "needs `question`")
    if name == "answer-out-of-range":
        (world / "a.jsonl").write_text(json.dumps({"question": "q", "choices": ["x", "y"], "answer": 7}) + "\n")
        return ["--tasks", "mcq:a.jsonl"], ("a.jsonl:1", "answer 7")
    if name == "empty-file":
        (world / "e.jsonl").write_text("\n")
        return ["--tasks", "mcq:e.jsonl"], ("e.jsonl", "no questions")
    if name == "folder-as-file":
        (world / "dir.jsonl").mkdir()
        return ["--tasks", "mcq:dir.jsonl"], ("dir.jsonl",)
    if name == "lmflow-bad-type":
        (world / "t.json").write_text(json.dumps({"type": "chat", "instances": []}))
        return ["--tasks", "nll:t.json"], ("t.json",)
    raise AssertionError(name)


DATA_CASES = ["duplicate-ids", "duplicate-ids-nll", "truncated-gzip", "not-gzip", "bad-json-line", "not-utf8",
              "csv-missing-question", "answer-out-of-range", "empty-file", "folder-as-file", "lmflow-bad-type"]


@pytest.mark.parametrize("case", DATA_CASES)
def test_bad_data_file(world, tiny_llama, case):
    options, needles = _data_case(case, world)
    before, runs = snapshot(world, tiny_llama), run_count(world / "runs.duckdb")
    result = invoke("eval", str(tiny_llama), *options, "--db", "runs.duckdb", "--no-progress")
    assert_one_line_error(result, *needles)
    assert snapshot(world, tiny_llama) == before and run_count(world / "runs.duckdb") == runs


def test_bad_leaderboard_spec_and_harness_file(world):
    before = snapshot(world)
    (world / "bad.yaml").write_text("title: [unclosed\n")
    assert_one_line_error(invoke("leaderboard", "bad.yaml", "--db", "runs.duckdb"), "bad.yaml", "not valid YAML")
    (world / "results_x.json").write_bytes(b"\xff\xfe{")
    assert_one_line_error(invoke("import-harness", "results_x.json", "--db", "runs.duckdb"), "results_x.json")
    assert {k: v for k, v in snapshot(world).items() if not k.endswith(("bad.yaml", "results_x.json"))} == before


# ------------------------------------------------------------------ checkpoints

def _checkpoint_case(name: str, source: Path, folder: Path) -> tuple[list[str], tuple[str, ...]]:
    shutil.copytree(source, folder)
    weights = folder / "model.safetensors"
    if name == "truncated-safetensors":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
        return [], ("model.safetensors", "truncated")
    if name == "garbage-safetensors":
        weights.write_bytes(b"\xff" * 64)
        return [], ("model.safetensors", "not a readable safetensors file")
    if name == "malicious-pickle":
        import torch

        weights.unlink()

        class Evil:
            def __reduce__(self):
                return (os.system, ("echo pwned",))

        torch.save({"x": Evil()}, folder / "pytorch_model.bin")
        return ["--allow-pickle"], ("pickle", "posix.system", "safetensors")
    if name == "pickle-without-flag":
        import torch

        torch.save({}, folder / "pytorch_model.bin")
        weights.unlink()
        return [], ("--allow-pickle",)
    if name == "no-weights":
        weights.unlink()
        return [], ("no weight files",)
    if name == "bad-config":
        (folder / "config.json").write_text("{")
        return [], ("config",)
    raise AssertionError(name)


CHECKPOINT_CASES = ["truncated-safetensors", "garbage-safetensors", "malicious-pickle", "pickle-without-flag",
                    "no-weights", "bad-config"]


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_bad_checkpoint(world, tiny_llama, case, capfd):
    options, needles = _checkpoint_case(case, tiny_llama, world / "model")
    before, runs = snapshot(world), run_count(world / "runs.duckdb")
    result = invoke("eval", "model", "--tasks", "mcq:q.jsonl", "--db", "runs.duckdb", "--no-progress", *options)
    assert_one_line_error(result, *needles)
    assert snapshot(world) == before and run_count(world / "runs.duckdb") == runs
    assert "pwned" not in capfd.readouterr().out  # the pickle's payload never ran


def test_max_length_beyond_the_model_positions(world, tiny_llama):
    """--max-length over a model's positions was an IndexError deep in the forward pass (GPT-2 style models)."""
    before = snapshot(world, tiny_llama)
    result = invoke("eval", str(tiny_llama), "--tasks", "mcq:q.jsonl", "--db", "runs.duckdb", "--max-length", "513")
    assert_one_line_error(result, "--max-length 513", "512 positions", "--max-length 512 or less")
    assert snapshot(world, tiny_llama) == before


def test_prompts_cut_to_fit_are_counted_in_one_warning(world, tiny_llama):
    result = invoke("eval", str(tiny_llama), "--tasks", "mcq:q.jsonl", "--db", "cut.duckdb", "--max-length", "4",
                    "--no-progress")
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [f"lmbench: warning: {len(QUESTIONS)} prompts longer than the context of 4 tokens were cut "
                        "from the left (first tokens dropped) to be scored; raise --max-length if the model allows, "
                        "or expect those answers to differ"]


def test_missing_checkpoint(world):
    before = snapshot(world)
    assert_one_line_error(invoke("eval", "./no/such/model", "--tasks", "mcq:q.jsonl", "--db", "runs.duckdb"),
                          "does not exist")
    assert snapshot(world) == before


# ------------------------------------------------------------------ database files

DB_CASES = ["text-file", "checkpoint-file", "folder", "missing-for-reading", "empty-file"]


@pytest.mark.parametrize("case", DB_CASES)
def test_bad_database(world, tiny_llama, case):
    if case == "text-file":
        db, command, needle = world / "notes.txt", "eval", "not a DuckDB database"
        db.write_text("my notes\n")
    elif case == "checkpoint-file":
        db, command, needle = tiny_llama / "model.safetensors", "eval", "not a DuckDB database"
    elif case == "folder":
        db, command, needle = world / "dbdir", "eval", "dbdir"
        db.mkdir()
        (db / "keep.txt").write_text("x")
    elif case == "empty-file":
        db, command, needle = world / "empty.duckdb", "eval", "not a DuckDB database"
        db.write_bytes(b"")
    else:
        db, command, needle = world / "none.duckdb", "runs", "does not exist"
    before = snapshot(world, tiny_llama)
    args = ["eval", str(tiny_llama), "--tasks", "mcq:q.jsonl", "--no-progress"] if command == "eval" else ["runs"]
    assert_one_line_error(invoke(*args, "--db", str(db)), needle)
    assert snapshot(world, tiny_llama) == before


@pytest.mark.parametrize("command", ["runs", "results", "eval"])
def test_truncated_database(world, tiny_llama, command):
    """A DuckDB file cut short: DuckDB's own IO error escaped as a traceback from whichever query met it."""
    data = (world / "runs.duckdb").read_bytes()
    (world / "runs.duckdb").write_bytes(data[: len(data) // 2])
    before = hashlib.sha256((world / "runs.duckdb").read_bytes()).hexdigest()
    args = ["eval", str(tiny_llama), "--tasks", "mcq:q.jsonl", "--no-progress"] if command == "eval" else [command]
    assert_one_line_error(invoke(*args, "--db", "runs.duckdb"), "database", "damaged", "--db")
    assert hashlib.sha256((world / "runs.duckdb").read_bytes()).hexdigest() == before


# ------------------------------------------------------------------ output paths

def test_results_out_is_the_database(world):
    """The headline bug: `--db X --out X` replaced every run with a CSV and exited 0."""
    before = snapshot(world)
    for fmt in ("csv", "table", "json", "parquet"):
        assert_one_line_error(invoke("results", "--db", "runs.duckdb", "--out", "runs.duckdb", "--format", fmt),
                              "--out runs.duckdb is an input")
        assert_one_line_error(invoke("runs", "--db", "runs.duckdb", "--out", "./runs.duckdb", "--force",
                                     "--format", fmt), "is an input")
    assert snapshot(world) == before and run_count(world / "runs.duckdb") == 1


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_results_out_is_a_link_to_the_database(world, link):
    """Same file under another name (compared by inode): still an input."""
    (os.symlink if link == "symlink" else os.link)(world / "runs.duckdb", world / "alias.csv")
    before = snapshot(world)
    assert_one_line_error(invoke("results", "--db", "runs.duckdb", "--out", "alias.csv", "--format", "csv",
                                 "--force"), "is an input")
    assert snapshot(world) == before and run_count(world / "runs.duckdb") == 1


def test_database_named_as_a_data_file(world, tiny_llama):
    before = snapshot(world, tiny_llama)
    assert_one_line_error(invoke("eval", str(tiny_llama), "--tasks", "mcq:q.jsonl", "--db", "q.jsonl"),
                          "not a DuckDB database", "untouched")
    assert snapshot(world, tiny_llama) == before


def test_failed_export_leaves_nothing(world):
    before = snapshot(world)
    assert_one_line_error(invoke("export-harness", "feedbeef", "--db", "runs.duckdb", "--out", "exp/new"), "feedbeef")
    assert not (world / "exp").exists() and snapshot(world) == before
    assert not [p for p in world.iterdir() if p.name.endswith(".lmbench-tmp")]


def test_results_out_foreign_file_and_folder(world):
    (world / "mine.csv").write_text("my own numbers\n")
    before = snapshot(world)
    assert_one_line_error(invoke("results", "--db", "runs.duckdb", "--out", "mine.csv", "--format", "csv"),
                          "mine.csv already exists", "--force")
    assert_one_line_error(invoke("results", "--db", "runs.duckdb", "--out", "q.jsonl", "--format", "csv"),
                          "q.jsonl already exists")
    (world / "outdir").mkdir()
    assert_one_line_error(invoke("results", "--db", "runs.duckdb", "--out", "outdir"), "is a folder")
    assert snapshot(world) == {**before}
    forced = invoke("results", "--db", "runs.duckdb", "--out", "mine.csv", "--format", "csv", "--force")
    assert forced.code == 0 and (world / "mine.csv").read_text().startswith("model,")


def test_results_out_in_missing_folder_and_rewrite(world):
    before = snapshot(world)
    first = invoke("results", "--db", "runs.duckdb", "--out", "new/deeper/r.csv", "--format", "csv")
    assert first.code == 0, first.stderr
    text = (world / "new/deeper/r.csv").read_text()
    assert text.startswith("model,") and len(text.splitlines()) == 3  # header + acc + acc_norm
    again = invoke("results", "--db", "runs.duckdb", "--out", "new/deeper/r.csv", "--format", "json")
    assert again.code == 0, again.stderr  # lmbench wrote it: replacing it needs no --force
    assert json.loads((world / "new/deeper/r.csv").read_text())[0]["metric"] == "acc"
    assert [p.name for p in (world / "new/deeper").iterdir()] == ["r.csv"]  # no temporary file left
    assert {k: v for k, v in snapshot(world).items() if "/new/" not in k} == before


def test_leaderboard_never_touches_foreign_files(world):
    folder = world / "report"
    (folder / "plots").mkdir(parents=True)
    (folder / "README.md").write_text("my notes\n")
    (folder / "plots" / "mine.png").write_bytes(b"not a chart")
    before = snapshot(world)
    assert_one_line_error(invoke("leaderboard", "spec.yaml", "--db", "runs.duckdb", "--out", "report"),
                          "non-empty folder lmbench did not write", "--force")
    assert snapshot(world) == before
    (folder / "README.md").unlink()
    forced = invoke("leaderboard", "spec.yaml", "--db", "runs.duckdb", "--out", "report", "--force")
    assert forced.code == 0, forced.stderr
    assert (folder / "plots" / "mine.png").read_bytes() == b"not a chart"  # kept, even with --force
    assert (folder / "README.md").read_text().startswith("# Board")
    (folder / "extra.txt").write_text("added by me")
    again = invoke("leaderboard", "spec.yaml", "--db", "runs.duckdb", "--out", "report")  # ours now: no --force
    assert again.code == 0, again.stderr
    assert (folder / "extra.txt").read_text() == "added by me" and (folder / "plots" / "mine.png").exists()
    assert not any(p.name.endswith(".lmbench-tmp") for p in world.iterdir())


def test_leaderboard_and_export_out_is_a_file(world):
    (world / "a-file").write_text("x")
    before = snapshot(world)
    assert_one_line_error(invoke("leaderboard", "spec.yaml", "--db", "runs.duckdb", "--out", "a-file"), "is a file")
    run_id = _first_run(world)
    assert_one_line_error(invoke("export-harness", run_id, "--db", "runs.duckdb", "--out", "a-file"), "is a file")
    assert_one_line_error(invoke("export-harness", run_id, "--db", "runs.duckdb", "--out", "."),
                          "non-empty folder")
    assert snapshot(world) == before


def _first_run(world: Path) -> str:
    from lmbench.store import Store

    with Store(world / "runs.duckdb", read_only=True) as store:
        return str(store.runs()["run_id"].iloc[0])


def test_export_of_a_file_task_and_back(world):
    """`mcq:q.jsonl` holds ':' and (with a folder) '/': the export was a traceback, half-written."""
    run_id = _first_run(world)
    result = invoke("export-harness", run_id[:8], "--db", "runs.duckdb", "--out", "exp")
    assert result.code == 0, result.stderr
    names = sorted(p.name for p in (world / "exp").iterdir())
    assert names == sorted([".lmbench-written.json", f"results_{run_id}.json",
                            f"samples_mcq-q.jsonl-{hashlib.sha256(b'mcq:q.jsonl').hexdigest()[:6]}_{run_id}.jsonl"])
    back = invoke("import-harness", f"exp/results_{run_id}.json", "--db", "runs.duckdb")
    assert back.code == 0, back.stderr
    from lmbench.store import Store

    with Store(world / "runs.duckdb", read_only=True) as store:
        tasks = store.query("SELECT DISTINCT task FROM samples")["task"].tolist()
        counts = store.query("SELECT run_id, count(*) AS n FROM samples GROUP BY run_id")["n"].tolist()
    assert tasks == ["mcq:q.jsonl"] and counts == [len(QUESTIONS)] * 2


# ------------------------------------------------------------------ names

@pytest.mark.parametrize("name", ["[/x]", "[red]x", "[bold]m[/bold]", "esc\x1b[31mred"])
def test_markup_in_names_is_shown_as_typed(world, tiny_llama, name):
    """A `[/...]` in a name crashed after the run was stored, and then `runs`/`results` failed on that database."""
    model = name.replace("/", "_")  # a folder name cannot hold '/'; the task file's path can
    shutil.copytree(tiny_llama, world / model)
    questions = world / f"{name}.jsonl"
    questions.parent.mkdir(parents=True, exist_ok=True)
    questions.write_text((world / "q.jsonl").read_text())
    result = invoke("eval", model, "--tasks", f"mcq:{name}.jsonl", "--db", "names.duckdb", "--no-progress")
    assert result.code == 0, result.stderr
    shown_task, shown_model = (f"mcq:{name}.jsonl".replace("\x1b", "\\x1b"), model.replace("\x1b", "\\x1b"))
    assert "\x1b" not in result.stdout
    assert f"│ {shown_task} │" in result.stdout and f"{shown_model} (" in result.stdout, result.stdout
    for command in ("runs", "results"):
        listed = invoke(command, "--db", "names.duckdb", "--format", "table")
        assert listed.code == 0, listed.stderr
        assert shown_model in listed.stdout and "\x1b" not in listed.stdout, listed.stdout
    table = invoke("results", "--db", "names.duckdb")
    assert table.stdout.count(shown_task) == 2, table.stdout  # acc and acc_norm rows


# ------------------------------------------------------------------ signals (subprocess, mid-run)

SIGNAL_QUESTIONS = 60  # enough that the signal lands mid-run even when a loaded machine delays the poll


def _slow_eval(tiny_llama: Path, folder: Path) -> list[str]:
    (folder / "many.jsonl").write_text("".join(json.dumps({"question": f"Is {i} even?", "choices": ["yes", "no"],
                                                           "answer": i % 2}) + "\n" for i in range(SIGNAL_QUESTIONS)))
    return [sys.executable, "-m", "lmbench", "eval", str(tiny_llama), "--tasks", f"mcq:{folder / 'many.jsonl'}",
            "--db", str(folder / "sig.duckdb"), "--no-progress", "--write-every", "1", "--batch-size", "1"]


def _samples_written(db: Path) -> int:
    from lmbench.store import Store

    if not db.exists():
        return 0
    try:
        with Store(db, read_only=True, timeout=0.2) as store:
            return int(store.query("SELECT count(*) FROM samples").iloc[0, 0])
    except Exception:  # noqa: BLE001 - locked by the writer or not yet created: try again
        return 0


def _statuses(db: Path) -> list[str]:
    from lmbench import api

    return api.runs(db)["status"].tolist()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_signal_mid_run_marks_interrupted_and_same_command_resumes(tiny_llama, tmp_path, how):
    command = _slow_eval(tiny_llama, tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 300
    while _samples_written(tmp_path / "sig.duckdb") < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no samples written"
        time.sleep(0.2)
    proc.send_signal(getattr(signal, how))
    _, stderr = proc.communicate(timeout=120)
    written = _samples_written(tmp_path / "sig.duckdb")
    assert 2 <= written < SIGNAL_QUESTIONS
    if how != "SIGKILL":
        assert proc.returncode == {"SIGTERM": 143, "SIGINT": 130}[how], stderr
        assert "Traceback" not in stderr, stderr
        lines = [line for line in stderr.splitlines() if line.strip() and "WARNING" not in line]
        assert len(lines) == 1 and lines[0].startswith("lmbench: interrupted by"), stderr
        assert "run the same command: lmbench eval " in lines[0] and "--write-every 1" in lines[0]
    else:
        assert proc.returncode == -signal.SIGKILL
    listed = subprocess.run([sys.executable, "-m", "lmbench", "runs", "--db", str(tmp_path / "sig.duckdb")],
                            capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    stale = how == "SIGKILL" and "running" in listed.stdout  # nobody could mark it: the store must see it is dead
    assert stale or "interrupted" in listed.stdout, listed.stdout
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _statuses(tmp_path / "sig.duckdb") == ["done"]  # the same run, resumed, not a second one
    assert _samples_written(tmp_path / "sig.duckdb") == SIGNAL_QUESTIONS
    if stale:
        pytest.xfail("resumed, but `lmbench runs` showed the killed run as 'running': needs the store helper's "
                     "stale-run detection ([8], store branch)")


# ------------------------------------------------------------------ the output policy itself

def test_report_folder_removes_only_its_own_unchanged_files(tmp_path):
    from lmbench.outputs import MANIFEST, output_folder

    out = tmp_path / "report"
    with output_folder(out) as folder:
        for name in ("a.md", "plots/b.png", "plots/c.png"):
            folder.write_text(name, f"first {name}")
    assert json.loads((out / MANIFEST).read_text())["files"].keys() == {"a.md", "plots/b.png", "plots/c.png"}
    (out / "plots" / "c.png").write_text("edited by the user")
    (out / "mine.txt").write_text("the user's")
    with output_folder(out) as folder:
        folder.write_text("a.md", "second")
    assert (out / "a.md").read_text() == "second"
    assert not (out / "plots" / "b.png").exists()  # ours, unchanged, not written this time: removed
    assert (out / "plots" / "c.png").read_text() == "edited by the user"  # changed since: no longer ours, kept
    assert (out / "mine.txt").read_text() == "the user's"
    with pytest.raises(RuntimeError), output_folder(out) as folder:  # a failure half-way changes nothing
        folder.write_text("a.md", "third")
        raise RuntimeError("render failed")
    assert (out / "a.md").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging folder left


def test_single_file_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path):
    from lmbench.outputs import write_file

    target = write_file(tmp_path / "r.csv", "one\n")
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())

    def broken(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_file(target, broken)
    assert target.read_text() == "one\n" and sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
