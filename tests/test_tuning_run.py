"""Recipes run end to end on a tiny model: loss falls, train_log and lineage recorded, candidates load, LoRA
merges exactly, QLoRA records 4 bits, a killed run resumes, and the tune-then-evaluate loop compares with the base."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmbench.store import Store
from lmbench.tuning.registry import load_recipe, run_recipe

LR = {"pretrain": 1e-3, "sft-full": 1e-3, "sft-lora": 1e-2, "sft-qlora": 1e-2, "sft-lomo": 1e-2}


def _data(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "text.json"
    text.write_text(json.dumps({"type": "text_only", "instances": [
        {"text": f"The heart pumps blood through the body. Patient {i} was treated."} for i in range(16)]}))
    sft = folder / "sft.json"
    sft.write_text(json.dumps({"type": "text2text", "instances": [
        {"input": f"Question {i}: which organ pumps blood?", "output": "the heart pumps blood"} for i in range(8)]}))
    return {"text": text, "sft": sft}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _data(tmp_path_factory.mktemp("tune_data"))


def _run(name: str, tiny: Path, data: dict[str, Path], out: Path, db: Path, *extra: str):
    source = data["text"] if name == "pretrain" else data["sft"]
    config = load_recipe(name, [f"model={tiny}", f"data={source}", f"output_dir={out}", f"db={db}", "max_steps=8",
                                "batch_size=4", "block_size=16", f"learning_rate={LR[name]}", "progress=false",
                                *extra])
    return run_recipe(config)


@pytest.mark.parametrize("name", sorted(LR))
def test_every_recipe_trains_and_records(name: str, tiny_llama: Path, data: dict[str, Path], tmp_path: Path) -> None:
    from lmbench.models.loader import inspect_checkpoint

    db = tmp_path / "db.duckdb"
    extra = ["gradient_checkpointing=true"] if name == "sft-lomo" else []  # LMTuner: LOMO + checkpointing
    result = _run(name, tiny_llama, data, tmp_path / "out", db, *extra)
    losses = [row["loss"] for row in result.history]
    assert result.global_step == 8 and len(losses) == 8
    assert losses[-1] < 0.7 * losses[0], losses  # a small overfit set: the loss falls
    final = tmp_path / "out" / "final"
    assert result.final_dir == final
    adapter = name in ("sft-lora", "sft-qlora")
    assert (final / ("adapter_config.json" if adapter else "config.json")).is_file()
    if adapter:  # per-architecture LoRA targets (peft's table: llama q_proj, v_proj)
        assert sorted(json.loads((final / "adapter_config.json").read_text())["target_modules"]) == ["q_proj", "v_proj"]
    info = inspect_checkpoint(str(final))  # loadable by `lmbench eval` as it is
    assert info.source.kind == ("lora" if adapter else "hf_dir")
    with Store(db, read_only=True) as store:
        runs = store.training_runs()
        assert list(runs["status"]) == ["done"] and runs["candidate_fingerprint"].iloc[0] == result.fingerprint
        log = store.train_log(result.training_run_id)
        assert list(log["step"]) == list(range(1, 9))
        assert {"loss", "learning_rate", "grad_norm", "tokens_per_s"} <= set(log.columns)
        assert log["loss"].tolist() == pytest.approx(losses)
        edges = store.ancestry(result.fingerprint)
        edges = edges[edges["relation"] == ("pretrain" if name == "pretrain" else "sft")]
        assert list(edges["parent"]) == [result.base_fingerprint]
        detail = edges["detail"].iloc[0]
        detail = json.loads(detail) if isinstance(detail, str) else detail
        assert detail["step"] == 8 and detail["recipe"] == name and len(detail["data"][0]["hash"]) == 16
        identity = store.query("SELECT identity FROM models WHERE fingerprint = ?", [result.fingerprint])["identity"][0]
        quantization = json.loads(identity).get("quantization")
    if name == "sft-qlora":
        assert quantization == {"method": "bitsandbytes", "bits": 4, "quant_type": "nf4", "double_quant": True}
    else:
        assert quantization is None
    marker = json.loads((tmp_path / "out" / "lmbench_tune.json").read_text())
    assert marker["status"] == "done" and marker["fingerprint"] == result.fingerprint


def test_lora_merged_equals_unmerged(tiny_llama: Path, data: dict[str, Path], tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    result = _run("sft-lora", tiny_llama, data, tmp_path / "out", tmp_path / "db.duckdb", "merge=true")
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
    assert (result.final_dir / "config.json").is_file()  # merge=true: the final candidate is a model folder
    ids = torch.tensor([[5, 17, 42, 99, 7, 3, 250, 11]])
    base = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    unmerged = PeftModel.from_pretrained(base, tmp_path / "out" / "adapter").eval()
    with torch.no_grad():
        a = unmerged(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(result.final_dir).eval()
        b = merged(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()(ids).logits
    assert (a - b).abs().max().item() < 1e-5
    assert (a - plain).abs().max().item() > 1e-3  # the adapter did change the model


def test_kill_then_resume_continues_from_last_checkpoint(tiny_llama: Path, data: dict[str, Path],
                                                         tmp_path: Path) -> None:
    out, db = tmp_path / "out", tmp_path / "db.duckdb"
    args = ["tune", "sft-full", f"model={tiny_llama}", f"data={data['sft']}", f"output_dir={out}", f"db={db}",
            "max_steps=12", "batch_size=2", "save_every=2", "learning_rate=1e-3", "progress=false"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "lmbench", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while not (out / "checkpoint-4").is_dir() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # The kill may land while checkpoint-4 is being written: only folders with trainer_state.json are complete.
    saved = sorted(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*") if (p / "trainer_state.json").is_file())
    assert saved and saved[-1] < 12, "the run finished before it could be killed"
    again = subprocess.run([sys.executable, "-m", "lmbench", *args], env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "pass resume=true" in again.stderr  # the same run, without resume: refused
    config = load_recipe("sft-full", [a for a in args[2:]] + ["resume=true"])
    result = run_recipe(config)
    assert result.resumed_from == str(out / f"checkpoint-{saved[-1]}")
    assert result.global_step == 12
    with Store(db, read_only=True) as store:
        log = store.train_log(result.training_run_id)
        runs = store.training_runs()
    assert list(runs["status"]) == ["interrupted", "done"]  # the killed run is closed when it is resumed
    assert list(log["step"]) == list(range(saved[-1] + 1, 13))  # the resumed run logs only the remaining steps


def test_tune_then_evaluate(tiny_llama: Path, data: dict[str, Path], tmp_path: Path) -> None:
    from cli import run_cli

    db = tmp_path / "db.duckdb"
    result = _run("sft-lora", tiny_llama, data, tmp_path / "run", db, f"eval_tasks=nll:{data['sft']}",
                  "eval_every=4")
    curve = result.curve[result.curve["metric"] == "nll"]
    assert list(curve["step"]) == [0, 4, 8, 8] and list(curve["model"])[1:] == ["run-step4", "run-step8", "run"]
    assert curve["value"].iloc[-1] < curve["value"].iloc[0]
    row = result.comparison.iloc[0]
    assert row["metric"] == "nll" and row["n"] == 8 and row["diff"] < 0 and row["p_bootstrap"] < 0.05
    assert row["candidate"] == pytest.approx(curve["value"].iloc[-1])
    with Store(db, read_only=True) as store:
        step4 = store.query("SELECT fingerprint FROM models WHERE name = 'run-step4'")["fingerprint"][0]
        edges = store.ancestry(step4)
    sft = edges[edges["relation"] == "sft"]
    assert list(sft["parent"]) == [result.base_fingerprint] and sft["detail"].iloc[0]["step"] == 4
    listed = run_cli("results", "--model", "run-step4", "--db", str(db), "--format", "csv")
    assert listed.returncode == 0 and "nll" in listed.stdout
