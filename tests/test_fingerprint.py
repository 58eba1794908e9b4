"""Content fingerprints: the same weights are one model in one file, in shards or in memory; anything that
changes answers (a tensor, dtype, quantization) changes the fingerprint; file digests keyed by relative path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from lmbench.errors import ConfigError
from lmbench.models.fingerprint import files_digest
from lmbench.models.loader import inspect_checkpoint, load_model


def _resave(source: Path, target: Path, **save: object) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    AutoModelForCausalLM.from_pretrained(source).save_pretrained(target, **save)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return target


def test_one_file_and_shards_share_a_fingerprint_and_a_changed_tensor_does_not(tiny_llama: Path, tmp_path: Path) -> None:
    sharded = _resave(tiny_llama, tmp_path / "sharded", max_shard_size="20KB")
    assert len(list(sharded.glob("*.safetensors"))) > 3 and (sharded / "model.safetensors.index.json").is_file()
    one = inspect_checkpoint(str(tiny_llama))
    assert inspect_checkpoint(str(sharded)).fingerprint == one.fingerprint
    assert set(one.identity) == {"weights", "config", "tokenizer", "dtype", "bos", "max_length", "quantization"}
    assert str(tiny_llama) not in json.dumps(one.identity) and "hf_dir" not in json.dumps(one.identity)

    changed = tmp_path / "changed"
    model = load_model(str(tiny_llama)).model
    with torch.no_grad():
        model.model.layers[1].mlp.down_proj.weight[3, 5] += 1e-3
    model.save_pretrained(changed)
    shutil.copy(tiny_llama / "tokenizer.json", changed)
    shutil.copy(tiny_llama / "tokenizer_config.json", changed)
    other = inspect_checkpoint(str(changed))
    assert other.fingerprint != one.fingerprint and other.identity["tokenizer"] == one.identity["tokenizer"]


def test_a_changed_config_is_another_model(tiny_llama: Path, tmp_path: Path) -> None:
    """Same tensors, same tokenizer, another rope_theta: another fingerprint (the config is hashed), while fields
    that do not change outputs (use_cache, the saved transformers version) leave it as it was."""
    one = inspect_checkpoint(str(tiny_llama))
    for name, edit, same in (("rope", {"rope_theta": 1234.0}, False), ("cache", {"use_cache": False}, True),
                             ("version", {"transformers_version": "0.0.1"}, True)):
        folder = tmp_path / name
        shutil.copytree(tiny_llama, folder)
        config = json.loads((folder / "config.json").read_text())
        if "rope_theta" in edit and "rope_parameters" in config:
            config["rope_parameters"] = {**config["rope_parameters"], **edit}
        else:
            config.update(edit)
        (folder / "config.json").write_text(json.dumps(config))
        other = inspect_checkpoint(str(folder))
        assert other.identity["weights"] == one.identity["weights"]
        assert (other.fingerprint == one.fingerprint) is same, name


def test_in_memory_model_shares_the_folder_fingerprint(tiny_llama: Path) -> None:
    in_memory = pytest.importorskip("lmbench.models.in_memory", reason="the in-memory path (spine) is not merged")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    loaded = in_memory.loaded_from_memory(model, AutoTokenizer.from_pretrained(tiny_llama))
    assert loaded.fingerprint == inspect_checkpoint(str(tiny_llama)).fingerprint


def test_quantization_settings_are_part_of_identity(tiny_llama: Path) -> None:
    full = inspect_checkpoint(str(tiny_llama))
    nf4 = inspect_checkpoint(str(tiny_llama), quantization={"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"})
    fp4 = inspect_checkpoint(str(tiny_llama), quantization={"load_in_4bit": True, "bnb_4bit_quant_type": "fp4"})
    spelled = inspect_checkpoint(str(tiny_llama), quantization={**nf4.quantization})
    assert full.identity["quantization"] is None and nf4.identity["quantization"]["bnb_4bit_quant_type"] == "nf4"
    assert len({full.fingerprint, nf4.fingerprint, fp4.fingerprint}) == 3
    assert spelled.fingerprint == nf4.fingerprint, "defaults spelled out are the same settings"
    with pytest.raises(ConfigError, match="unknown quantization setting 'load_in_4bits' .*'load_in_4bit'"):
        inspect_checkpoint(str(tiny_llama), quantization={"load_in_4bits": True})


def test_four_bit_load_runs(tiny_llama: Path) -> None:
    pytest.importorskip("bitsandbytes")
    lm = load_model(str(tiny_llama), quantization={"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"})
    assert type(lm.model.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    with torch.no_grad():
        logits = lm.model(torch.tensor([lm.tokenizer.encode("Answer: B")])).logits
    assert torch.isfinite(logits).all()


def test_pickle_weights_hash_their_bytes(tiny_llama: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "pickled"
    folder.mkdir()
    torch.save(AutoModelForCausalLM.from_pretrained(tiny_llama).state_dict(), folder / "pytorch_model.bin")
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_llama / name, folder / name)
    first = inspect_checkpoint(str(folder), allow_pickle=True)
    assert first.identity["weights"].startswith("pickle:")
    with (folder / "pytorch_model.bin").open("ab") as handle:
        handle.write(b"\0")
    assert inspect_checkpoint(str(folder), allow_pickle=True).fingerprint != first.fingerprint


def test_files_digest_keys_by_path_inside_the_root(tmp_path: Path) -> None:
    """An lm_eval group's members each hold a `test.jsonl`: keyed by bare name they collapsed into one entry."""
    files = []
    for subject in ("anatomy", "virology"):
        (tmp_path / subject).mkdir()
        files.append(tmp_path / subject / "test.jsonl")
        files[-1].write_text(f'{{"q": "{subject}"}}\n')
    assert len(files_digest(files)) == 2, "two files, two entries"
    digest = files_digest(files, tmp_path)
    assert sorted(digest) == ["anatomy/test.jsonl", "virology/test.jsonl"]
    assert files_digest(files) == digest, "the default root is the files' common folder"
    files[0].write_text('{"q": "changed"}\n')
    assert files_digest(files, tmp_path)["anatomy/test.jsonl"] != digest["anatomy/test.jsonl"]
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "virology", moved / "virology")
    assert files_digest([moved / "virology" / "test.jsonl"], moved) == {"virology/test.jsonl": digest["virology/test.jsonl"]}
    with pytest.raises(ValueError, match="is not inside the root"):
        files_digest(files, moved)


def test_lora_adapter_is_its_tensors_settings_and_base(tiny_llama: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "adapter"
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_llama),
                                LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(adapter)
    first = inspect_checkpoint(str(adapter))
    assert first.identity["base"] == inspect_checkpoint(str(tiny_llama)).fingerprint
    moved_base = shutil.copytree(tiny_llama, tmp_path / "base-elsewhere")
    assert inspect_checkpoint(str(adapter), base=str(moved_base)).fingerprint == first.fingerprint, \
        "the base is identified by its content, not where it lies"
    settings = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**settings, "lora_alpha": settings["lora_alpha"] * 2}))
    assert inspect_checkpoint(str(adapter)).fingerprint != first.fingerprint, "alpha scales the merged update"


@pytest.mark.slow
def test_gguf_is_identified_by_its_bytes(smollm2_dir: Path) -> None:
    from lmbench.paths import cache_root

    ggufs = sorted((cache_root() / "gguf").glob("*.gguf"))
    if not ggufs:
        pytest.skip("no cached SmolLM2 GGUF file (the default model came from the Hub)")
    from_gguf, from_folder = inspect_checkpoint(str(ggufs[0])), inspect_checkpoint(str(smollm2_dir))
    assert from_gguf.identity["weights"] == "gguf:" + files_digest([ggufs[0]])[ggufs[0].name]
    assert from_gguf.identity["tokenizer"] == from_folder.identity["tokenizer"]
    assert from_gguf.fingerprint != from_folder.fingerprint, "a GGUF file and its converted folder are two models"
    assert inspect_checkpoint(None).fingerprint == from_folder.fingerprint, "the built-in default is its folder"
