"""Slow tier: an exact delta of the real SmolLM2-135M-Instruct with a real change (perturbed tensors)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PERTURBED = ("model.layers.3.self_attn.q_proj.weight", "model.layers.10.mlp.up_proj.weight", "model.norm.weight")


@pytest.mark.slow
def test_smollm2_delta_round_trip(smollm2_dir: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    from lmbench.models.loader import inspect_checkpoint
    from lmbench.zoo.apply import apply_delta
    from lmbench.zoo.delta import make_delta
    from lmbench.zoo.manifest import file_sha256

    target = tmp_path / "target"
    target.mkdir()
    for side in smollm2_dir.iterdir():
        if side.suffix != ".safetensors":
            shutil.copy2(side, target / side.name)
    state = load_file(smollm2_dir / "model.safetensors")
    generator = torch.Generator().manual_seed(0)
    for name in PERTURBED:
        state[name] = state[name] + torch.randn(state[name].shape, generator=generator) * 1e-3
    save_file(state, target / "model.safetensors", metadata={"format": "pt"})
    del state
    manifest = make_delta(str(smollm2_dir), str(target), tmp_path / "delta")
    changed = sorted(n for n, e in manifest["tensors"].items() if e["op"] != "same")
    assert changed == sorted(PERTURBED)
    changed_bytes = sum(4 * torch.Size(manifest["tensors"][n]["shape"]).numel() for n in PERTURBED)
    assert changed_bytes < manifest["sizes"]["delta_bytes"] < changed_bytes + 4096  # only the changes are stored
    apply_delta(str(smollm2_dir), tmp_path / "delta", tmp_path / "recovered")
    assert file_sha256(tmp_path / "recovered" / "model.safetensors") == file_sha256(target / "model.safetensors")
    assert inspect_checkpoint(str(tmp_path / "recovered")).fingerprint == manifest["target"]["fingerprint"]
    assert manifest["target"]["fingerprint"] != manifest["base"]["fingerprint"]
