"""LoRA adapters publish as they are, with their base's fingerprint in the zoo entry and the card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli import run_cli


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import torch
    from peft import LoraConfig, get_peft_model
    from tiny import build_tiny_model
    from transformers import AutoModelForCausalLM

    folder = tmp_path_factory.mktemp("zoo_adapter")
    base = build_tiny_model(folder / "base", arch="llama", seed=7)
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    model.save_pretrained(folder / "adapter")
    return base, folder / "adapter"


def test_adapter_publish_local_and_pull(adapter: tuple[Path, Path], tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    from lmbench.models.loader import inspect_checkpoint

    base, folder = adapter
    db, zoo = tmp_path / "r.duckdb", tmp_path / "zoo"
    done = run_cli("eval", str(folder), "--limit", "3", "--db", str(db), "--no-progress")
    assert done.returncode == 0, done.stderr
    done = run_cli("zoo", "publish", str(folder), "--repo", "me/tiny-lora", "--local", "--zoo-dir", str(zoo),
                   "--db", str(db))
    assert done.returncode == 0, done.stderr
    info = inspect_checkpoint(str(folder))
    entry = json.loads((zoo / "me--tiny-lora.json").read_text())
    assert entry["kind"] == "adapter" and entry["base"]["fingerprint"] == info.base_fingerprint
    assert entry["fingerprint"] == info.fingerprint and len(entry["results"]) >= 2
    copied = zoo / "files" / "me--tiny-lora"
    assert (copied / "adapter_model.safetensors").read_bytes() == (folder / "adapter_model.safetensors").read_bytes()
    card = ModelCard((copied / "README.md").read_text())
    assert card.data.lmbench["base_fingerprint"] == info.base_fingerprint
    assert {r.metric_type for r in card.data.eval_results} >= {"acc", "acc_norm"}
    assert "lmbench eval ADAPTER_DIR --base BASE_DIR --tasks lmbench_sample --limit 3" in card.text

    out = tmp_path / "pulled"
    done = run_cli("zoo", "pull", "me/tiny-lora", "--base", str(base), "--out", str(out), "--zoo-dir", str(zoo))
    assert done.returncode == 0, done.stderr
    assert (out / "adapter_model.safetensors").read_bytes() == (folder / "adapter_model.safetensors").read_bytes()
    from tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other", arch="llama", seed=8)
    done = run_cli("zoo", "pull", "me/tiny-lora", "--base", str(other), "--out", str(tmp_path / "o2"),
                   "--zoo-dir", str(zoo))
    assert done.returncode == 2 and "wrong base" in done.stderr and info.base_fingerprint in done.stderr
    assert not (tmp_path / "o2").exists()
