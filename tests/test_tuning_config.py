"""Recipes: packaged copies, typed configs with every problem at once, bad input refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli import run_cli

from lmbench.tuning.config import RecipeError
from lmbench.tuning.registry import builtin_recipes, load_recipe

REPO = Path(__file__).resolve().parents[1]
RECIPES = ("pretrain", "sft-full", "sft-lora", "sft-qlora", "sft-lomo")


def test_packaged_recipes_are_the_top_level_ones() -> None:
    top = {p.name: p.read_bytes() for p in (REPO / "tuning").glob("*.yaml")}
    packaged = {p.name: p.read_bytes() for p in builtin_recipes().values()}
    assert top == packaged
    assert set(RECIPES) <= {Path(n).stem for n in packaged}


def _dataset(path: Path, kind: str, n: int = 4) -> Path:
    rows = {"text_only": [{"text": f"the heart pumps blood {i}"} for i in range(n)],
            "text2text": [{"input": f"Question {i}?", "output": "the heart"} for i in range(n)],
            "conversation": [{"messages": [{"role": "user", "content": f"hi {i}"},
                                           {"role": "assistant", "content": "hello"}]} for i in range(n)]}[kind]
    path.write_text(json.dumps({"type": kind, "instances": rows}))
    return path


def test_every_recipe_loads_with_data_and_keeps_its_method(tmp_path: Path) -> None:
    text = _dataset(tmp_path / "t.json", "text_only")
    sft = _dataset(tmp_path / "s.json", "text2text")
    methods = {"pretrain": "full", "sft-full": "full", "sft-lora": "lora", "sft-qlora": "qlora", "sft-lomo": "lomo"}
    for name in RECIPES:
        config = load_recipe(name, [f"data={text if name == 'pretrain' else sft}", "max_steps=3"])
        assert config.method == methods[name] and config.max_steps == 3 and config.kind == "lm"


def test_every_problem_at_once_with_close_names(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as err:
        load_recipe("sft-lora", ["data=missing.json", "lora_rr=4", "epochs=abc", "method=sgd", "learning_rate=1e-4"])
    message = str(err.value)
    assert "\n" not in message and "4 problems" in message
    assert "unknown key 'lora_rr' (did you mean lora_r" in message
    assert "epochs is 'abc'; expected a number" in message
    assert "method is 'sgd'; expected 'full' | 'lora' | 'qlora' | 'lomo' | 'adalomo'" in message
    assert "data file 'missing.json' does not exist" in message


def test_extends_and_yaml_file(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "s.json", "conversation")
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(f"extends: sft-lora\ndata: [{data}]\nlora_r: 4\ntemplate: chatml\n")
    config = load_recipe(str(recipe), ["lora_alpha=8"])
    assert (config.method, config.lora_r, config.lora_alpha, config.template) == ("lora", 4, 8, "chatml")
    assert config.recipe_hash() != load_recipe(str(recipe)).recipe_hash()
    assert config.recipe_hash() == load_recipe(str(recipe), ["lora_alpha=8", "output_dir=elsewhere"]).recipe_hash()


def test_cli_list_print_and_one_refusal(tmp_path: Path) -> None:
    listed = run_cli("tune", "--list")
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == sorted(names) and set(RECIPES) <= set(names)  # align's recipes (reward, raft, ...) list too
    data = _dataset(tmp_path / "s.json", "text2text")
    printed = run_cli("tune", "sft-lora", "--print", f"data={data}", "lora_r=16")
    assert printed.returncode == 0, printed.stderr
    assert "lora_r: 16\n" in printed.stdout and "method: lora\n" in printed.stdout
    refused = run_cli("tune", "sft-lora", f"data={data}", "lora_rr=16")
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        "lmbench: error: recipe sft-lora: unknown key 'lora_rr' (did you mean lora_r or lora_targets or lora_dropout?)"]


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    """The CLI entry point in this process (the subprocess test above covers a real process)."""
    from lmbench.cli.app import main

    monkeypatch.setattr("sys.argv", ["lmbench", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err


def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path, tiny_llama: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    def _refused(tmp_path: Path, *args: str, env: dict | None = None) -> str:
        db = tmp_path / "db.duckdb"
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        code, err = _main(monkeypatch, capsys, "tune", *args, f"db={db}")
        for key in env or {}:
            monkeypatch.delenv(key)
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("lmbench: error: "), err
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written
        return lines[0]

    text = _dataset(tmp_path / "t.json", "text_only")
    sft = _dataset(tmp_path / "s.json", "text2text")
    out = tmp_path / "out"
    base = [f"model={tiny_llama}", f"output_dir={out}"]
    message = _refused(tmp_path, "sft-full", *base, f"data={sft}", "lora_rr=4")
    assert "unknown key 'lora_rr' (did you mean lora_r" in message
    message = _refused(tmp_path, "sft-full", *base, f"data={text}")
    assert "is text_only but objective=sft needs text2text or conversation; use objective=pretrain" in message
    message = _refused(tmp_path, "pretrain", *base, f"data={sft}")
    assert "is text2text but objective=pretrain needs text_only; use objective=sft" in message
    # The tiny tokenizer has no chat template: template=tokenizer cannot format the data.
    message = _refused(tmp_path, "sft-full", *base, f"data={sft}", "template=tokenizer")
    assert "template 'tokenizer' cannot format data" in message and "has no chat template" in message
    message = _refused(tmp_path, "sft-qlora", *base, f"data={sft}", env={"LMBENCH_DISABLE_BITSANDBYTES": "1"})
    assert "method=qlora needs bitsandbytes 4-bit, which is switched off here" in message and "method=lora" in message
    # A folder holding another run (its marker names a different recipe hash), and a folder lmbench did not write.
    out.mkdir()
    (out / "lmbench_tune.json").write_text(json.dumps({"recipe": "pretrain", "recipe_hash": "0" * 16, "status": "done"}))
    message = _refused(tmp_path, "sft-full", *base, f"data={sft}")
    assert "holds another run (recipe 'pretrain'" in message and "choose a new output_dir" in message
    (out / "lmbench_tune.json").unlink()
    (out / "notes.txt").write_text("mine")
    message = _refused(tmp_path, "sft-full", *base, f"data={sft}")
    assert "not a folder lmbench tune wrote" in message
    # Several problems: all in one line.
    message = _refused(tmp_path, "sft-qlora", *base, f"data={text}", env={"LMBENCH_DISABLE_BITSANDBYTES": "1"})
    assert "3 problems" in message


def test_lora_targets_per_architecture(tmp_path: Path, tiny_gpt2: Path) -> None:
    from lmbench.models.loader import inspect_checkpoint
    from lmbench.tuning.model import default_lora_targets, model_type_of
    from lmbench.tuning.preflight import check

    assert default_lora_targets("llama") == ["q_proj", "v_proj"]
    assert model_type_of(inspect_checkpoint(str(tiny_gpt2))) == "gpt2"
    data = _dataset(tmp_path / "s.json", "text2text")
    config = load_recipe("sft-lora", [f"model={tiny_gpt2}", f"data={data}", f"output_dir={tmp_path / 'o'}"])
    assert check(config, "sft-lora").lora_targets == ["c_attn"]
    config = load_recipe("sft-lora", [f"model={tiny_gpt2}", f"data={data}", f"output_dir={tmp_path / 'o'}",
                                      "lora_targets=c_attn,c_proj"])
    assert check(config, "sft-lora").lora_targets == ["c_attn", "c_proj"]
