"""Checkpoint sources, fingerprints, LoRA adapters and the pickle policy, on tiny models."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from lmbench.errors import CheckpointError
from lmbench.models.loader import load_model
from lmbench.models.sources import resolve_source


def test_source_kinds(tiny_llama, tmp_path):
    assert resolve_source(str(tiny_llama)).kind == "hf_dir"
    assert resolve_source(None).kind == "default" and resolve_source("default").kind == "default"
    hub = resolve_source("HuggingFaceTB/SmolLM2-135M-Instruct@main")
    assert (hub.kind, hub.hub_id, hub.revision) == ("hub", "HuggingFaceTB/SmolLM2-135M-Instruct", "main")
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_source(str(gguf)).kind == "gguf"
    with pytest.raises(CheckpointError, match="does not exist"):
        resolve_source("./missing/model")
    assert resolve_source(str(tmp_path)).kind == "gguf", "a folder with one .gguf file is that file"
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        resolve_source(str(tmp_path / "empty"))


def test_fingerprint_is_stable_and_sensitive(tiny_llama, tmp_path):
    first = load_model(str(tiny_llama))
    assert load_model(str(tiny_llama)).fingerprint == first.fingerprint
    assert load_model(str(tiny_llama), dtype="bfloat16").fingerprint != first.fingerprint
    assert load_model(str(tiny_llama), max_length=64).fingerprint != first.fingerprint
    copy = tmp_path / "copy"
    shutil.copytree(tiny_llama, copy)
    assert load_model(str(copy)).fingerprint == first.fingerprint, "same files, same fingerprint"
    with torch.no_grad():
        first.model.model.norm.weight.add_(0.01)
    first.model.save_pretrained(copy)
    assert load_model(str(copy)).fingerprint != first.fingerprint, "changed weights must change the fingerprint"


def test_auto_dtype_is_float32_on_cpu(tiny_llama):
    lm = load_model(str(tiny_llama), dtype="auto", device="cpu")
    assert lm.dtype == "float32" and next(lm.model.parameters()).dtype == torch.float32


def test_lora_adapter_loads_its_base_and_matches_peft(tiny_llama, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_llama)
    peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_llama)

    lm = load_model(str(adapter))
    assert lm.source.kind == "lora" and lm.base_name == tiny_llama.name and lm.base_fingerprint
    ids = torch.tensor([lm.tokenizer.encode("Question: Which organ pumps blood?\nAnswer:")])
    reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama), adapter).eval()
    with torch.no_grad():
        assert torch.allclose(lm.model(ids).logits, reference(ids).logits, atol=1e-5)
        plain = AutoModelForCausalLM.from_pretrained(tiny_llama)(ids).logits
    assert not torch.allclose(lm.model(ids).logits, plain, atol=1e-3), "the adapter must change the model"


def test_pickle_weights_need_explicit_flag(tiny_llama, tmp_path):
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "pickled"
    folder.mkdir()
    torch.save(AutoModelForCausalLM.from_pretrained(tiny_llama).state_dict(), folder / "pytorch_model.bin")
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_llama / name, folder / name)
    with pytest.raises(CheckpointError, match="--allow-pickle"):
        load_model(str(folder))
    assert load_model(str(folder), allow_pickle=True).n_params > 0


@pytest.mark.slow
def test_gguf_file_loads_like_its_converted_folder(smollm2_dir):
    from lmbench.paths import cache_root

    ggufs = sorted((cache_root() / "gguf").glob("*.gguf"))
    if not ggufs:
        pytest.skip("no cached SmolLM2 GGUF file (the default model came from the Hub)")
    from_gguf = load_model(str(ggufs[0]))
    from_folder = load_model(str(smollm2_dir))
    ids = torch.tensor([from_folder.tokenizer.encode("The heart pumps blood through the body.")])
    with torch.no_grad():
        assert torch.equal(from_gguf.model(ids).logits, from_folder.model(ids).logits)
    assert from_gguf.n_params == from_folder.n_params and from_gguf.source.kind == "gguf"


@pytest.mark.slow
def test_default_model_and_its_folder_share_one_fingerprint(smollm2_dir):
    """Same files, same identity: `lmbench eval` and `lmbench eval <the converted folder>` reuse each other's answers."""
    from lmbench.models.loader import inspect_checkpoint

    assert inspect_checkpoint(None).fingerprint == inspect_checkpoint(str(smollm2_dir)).fingerprint
