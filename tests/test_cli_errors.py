"""Bad input: one line on stderr that says what and how to fix, exit code 2, no traceback, nothing lost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cli import run_cli

def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("lmbench: error:")]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def recorded_db(tiny_llama, tmp_path_factory) -> Path:
    """A database holding one finished run, which no failing command below may damage."""
    db = tmp_path_factory.mktemp("db") / "runs.duckdb"
    questions = tmp_path_factory.mktemp("q") / "q.jsonl"
    questions.write_text("".join(json.dumps({"question": f"q{i}?", "choices": ["a", "b"], "answer": i % 2}) + "\n"
                                 for i in range(4)))
    ok = run_cli("eval", str(tiny_llama), "--tasks", f"mcq:{questions}", "--db", str(db), "--no-progress")
    assert ok.returncode == 0, ok.stderr
    return db


def _run_count(db: Path) -> int:
    from lmbench.store import Store

    with Store(db, read_only=True) as store:
        return len(store.runs())


def test_missing_checkpoint_path(recorded_db):
    result = run_cli("eval", "./no/such/model", "--tasks", "lmbench_sample", "--db", str(recorded_db))
    assert_one_line_error(result, "does not exist", "model folder")


def test_checkpoint_that_is_not_a_causal_lm(recorded_db, tmp_path):
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=37)).save_pretrained(tmp_path / "bert")
    result = run_cli("eval", str(tmp_path / "bert"), "--tasks", "lmbench_sample", "--db", str(recorded_db))
    assert_one_line_error(result, "bert", "not a causal language model")


def test_unknown_task_suggests_close_names(recorded_db, tiny_llama):
    result = run_cli("eval", str(tiny_llama), "--tasks", "pubmedq", "--db", str(recorded_db))
    assert_one_line_error(result, "unknown task 'pubmedq'", "pubmedqa")


def test_malformed_data_file_names_file_and_line(recorded_db, tiny_llama, tmp_path):
    (tmp_path / "medmcqa").mkdir()
    good = {"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 1}
    (tmp_path / "medmcqa/dev.jsonl").write_text(json.dumps(good) + "\n" + "{not json\n")
    result = run_cli("eval", str(tiny_llama), "--tasks", "medmcqa", "--data-dir", str(tmp_path), "--db", str(recorded_db))
    assert_one_line_error(result, "dev.jsonl:2", "not valid JSON")


def test_missing_data_while_offline(recorded_db, tiny_llama, tmp_path):
    result = run_cli("eval", str(tiny_llama), "--tasks", "mmlu_anatomy", "--data-dir", str(tmp_path),
                     "--db", str(recorded_db))
    assert_one_line_error(result, "mmlu/test/anatomy_test.csv", "--data-dir")
    result = run_cli("eval", str(tiny_llama), "--tasks", "pubmedqa", "--db", str(recorded_db))
    assert_one_line_error(result, "pubmedqa/ori_pqal.json", "HF_HUB_OFFLINE")


def test_shots_larger_than_dev_set(recorded_db, tiny_llama, shared_data):
    result = run_cli("eval", str(tiny_llama), "--tasks", "mmlu_anatomy", "--shots", "6", "--data-dir",
                     str(shared_data), "--db", str(recorded_db))
    assert_one_line_error(result, "--shots 6", "5")


def test_bad_option_values(recorded_db, tiny_llama):
    assert_one_line_error(run_cli("eval", str(tiny_llama), "--batch-size", "lots", "--db", str(recorded_db)),
                          "--batch-size")
    assert_one_line_error(run_cli("eval", str(tiny_llama), "--dtype", "float8", "--db", str(recorded_db)), "--dtype")


def test_database_that_is_not_duckdb(tiny_llama, tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("my precious notes\n")
    result = run_cli("eval", str(tiny_llama), "--db", str(bogus))
    assert_one_line_error(result, "notes.duckdb")
    assert bogus.read_text() == "my precious notes\n"


@pytest.mark.parametrize("case", ["wrong_type", "missing_key", "empty", "mixed", "not_utf8", "ends_with_user"])
def test_bad_nll_data(case, recorded_db, tiny_llama, tmp_path):
    folder = tmp_path / case
    folder.mkdir()
    conversation = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    files = {
        "wrong_type": {"a.json": {"type": "text3text", "instances": [{"text": "x"}]}},
        "missing_key": {"a.json": {"type": "text2text", "instances": [{"input": "q", "output": "a"}, {"input": "q"}]}},
        "empty": {"a.json": {"type": "text_only", "instances": []}},
        "mixed": {"a.json": {"type": "text_only", "instances": [{"text": "x"}]},
                  "b.json": {"type": "conversation", "instances": [conversation]}},
        "ends_with_user": {"a.json": {"type": "conversation", "instances": [
            conversation, {"messages": conversation["messages"] + [{"role": "user", "content": "bye"}]}]}},
    }.get(case, {})
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content))
    if case == "not_utf8":
        (folder / "a.json").write_bytes(b'{"type": "text_only", "instances": [{"text": "caf\xe9"}]}')
    result = run_cli("eval", str(tiny_llama), "--tasks", f"nll:{folder}", "--db", str(recorded_db))
    needles = {"wrong_type": ["a.json", "text3text"], "missing_key": ["a.json", "instance 1", "output"],
               "empty": ["a.json", "no instances"], "mixed": ["a.json", "b.json"], "not_utf8": ["a.json", "UTF-8"],
               "ends_with_user": ["a.json", "instance 1", "user"]}[case]
    assert_one_line_error(result, *needles)


def test_nothing_recorded_is_lost(recorded_db):
    # Runs after the failing commands above (pytest keeps file order): the first run is still there, intact.
    assert _run_count(recorded_db) == 1


@pytest.mark.parametrize("args, needle", [(("eval", "--limit", "abc"), "Invalid value for '--limit'"),
                                          (("export-harness",), "Missing argument"),
                                          (("eval", "--no-such-flag"), "No such option")])
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...], needle: str) -> None:
    """Typer's own click copy raises these; they must not escape as tracebacks."""
    result = run_cli(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr and needle in result.stderr, result.stderr
