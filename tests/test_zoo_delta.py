"""Exact deltas: make-delta then apply-delta gives bit-identical files, and every refusal writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli import run_cli
from zoo_models import cast_copy, derive

from lmbench.zoo import bits
from lmbench.zoo.apply import apply_delta
from lmbench.zoo.delta import make_delta
from lmbench.zoo.errors import ZooError
from lmbench.zoo.manifest import MANIFEST


def _same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir() if p.is_file())
    assert names == sorted(p.name for p in b.iterdir() if p.is_file())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _same_tensors(a: Path, b: Path) -> int:
    """Every tensor of `a` equals `b`'s bit for bit (compared as integers); returns how many were compared."""
    import torch
    from safetensors import safe_open

    def load(folder: Path) -> dict:
        out = {}
        for shard in sorted(folder.glob("*.safetensors")):
            with safe_open(shard, framework="pt") as handle:
                out |= {k: handle.get_tensor(k) for k in handle.keys()}
        return out

    ta, tb = load(a), load(b)
    assert sorted(ta) == sorted(tb)
    ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
    for name in ta:
        x, y = ta[name], tb[name]
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert torch.equal(x.view(ints[x.element_size()]), y.view(ints[y.element_size()])), name
    return len(ta)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("zoo_base"), arch="llama", seed=3)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_round_trip_is_bit_identical(tiny_base: Path, tmp_path: Path, dtype: str) -> None:
    base = tiny_base if dtype == "float32" else cast_copy(tiny_base, tmp_path / "base", dtype)
    target = derive(base, tmp_path / "target", dtype=dtype, seed=7)
    manifest = make_delta(str(base), str(target), tmp_path / "delta")
    ops = {n: e["op"] for n, e in manifest["tensors"].items()}
    assert ops["model.layers.0.mlp.up_proj.weight"] == "diff"
    assert ops["model.layers.1.self_attn.q_proj.weight"] == "diff"
    assert ops["model.layers.0.mlp.down_proj.weight"] == "same"  # untouched tensors are not stored
    apply_delta(str(base), tmp_path / "delta", tmp_path / "recovered")
    _same_files(target, tmp_path / "recovered")
    assert _same_tensors(target, tmp_path / "recovered") == len(manifest["tensors"])
    from lmbench.models.loader import inspect_checkpoint

    assert inspect_checkpoint(str(tmp_path / "recovered")).fingerprint == manifest["target"]["fingerprint"]


def test_float32_base_to_bfloat16_target(tiny_base: Path, tmp_path: Path) -> None:
    """The base is cast to the target's dtype by lmbench's own deterministic cast before the difference."""
    target = derive(tiny_base, tmp_path / "target", dtype="bfloat16", seed=8)
    manifest = make_delta(str(tiny_base), str(target), tmp_path / "delta")
    entry = manifest["tensors"]["model.layers.0.mlp.down_proj.weight"]
    assert (entry["op"], entry["base_dtype"], entry["dtype"]) == ("diff", "F32", "BF16")
    apply_delta(str(tiny_base), tmp_path / "delta", tmp_path / "recovered")
    _same_files(target, tmp_path / "recovered")


def test_vocabulary_extension_and_shards(tiny_base: Path, tmp_path: Path) -> None:
    target = derive(tiny_base, tmp_path / "target", new_tokens=5, seed=9, shard_size="100KB")
    assert len(list(target.glob("*.safetensors"))) > 1 and (target / "model.safetensors.index.json").is_file()
    manifest = make_delta(str(tiny_base), str(target), tmp_path / "delta")
    embed = manifest["tensors"]["model.embed_tokens.weight"]
    base_rows = json.loads((tiny_base / "config.json").read_text())["vocab_size"]
    assert embed["op"] == "diff" and embed["base_rows"] == base_rows and embed["shape"][0] == base_rows + 5
    assert [d["name"] for d in embed["delta"]] == ["model.embed_tokens.weight", "model.embed_tokens.weight::rows"]
    assert len(manifest["delta_files"]) == len(list(target.glob("*.safetensors")))
    apply_delta(str(tiny_base), tmp_path / "delta", tmp_path / "recovered")
    _same_files(target, tmp_path / "recovered")
    assert _same_tensors(target, tmp_path / "recovered") == len(manifest["tensors"])


def test_bit_pattern_difference_is_exact_where_float_difference_is_not() -> None:
    """The proof on adversarial values: every 16-bit pattern (NaNs, infinities, -0, subnormals) as bfloat16
    and float16 targets against random bases recovers exactly; float subtraction in the dtype does not."""
    import torch

    rng = np.random.default_rng(0)
    target = np.arange(1 << 16, dtype=np.uint16)
    base = rng.integers(0, 1 << 16, size=1 << 16, dtype=np.uint16)
    assert np.array_equal(bits.wrapping_add(base, bits.wrapping_diff(target, base)), target)
    t32 = rng.integers(0, 1 << 32, size=1 << 16, dtype=np.uint32)
    b32 = rng.integers(0, 1 << 32, size=1 << 16, dtype=np.uint32)
    assert np.array_equal(bits.wrapping_add(b32, bits.wrapping_diff(t32, b32)), t32)
    # FastChat/LMFlow's way, delta = target - base in the model's dtype and recovered = base + delta, on
    # fine-tuning-like values (weights ~N(0, 0.02), change ~N(0, 1e-3)): 1.64% of bfloat16 and 1.66% of
    # float16 values come back wrong (seed 0, measured by this test); the bit-pattern delta recovers all.
    generator = torch.Generator().manual_seed(0)
    base_f = torch.randn(100_000, generator=generator) * 0.02
    target_f = base_f + torch.randn(100_000, generator=generator) * 1e-3
    ints = {torch.bfloat16: np.uint16, torch.float16: np.uint16}
    for dtype, expected in ((torch.bfloat16, 1642), (torch.float16, 1655)):
        b, t = base_f.to(dtype), target_f.to(dtype)
        assert ((b + (t - b)) != t).sum().item() == expected
        tb, bb = t.view(torch.int16).numpy().view(ints[dtype]), b.view(torch.int16).numpy().view(ints[dtype])
        assert np.array_equal(bits.wrapping_add(bb, bits.wrapping_diff(tb, bb)), tb)


def test_cast_is_round_to_nearest_even_like_torch() -> None:
    import torch

    values = np.random.default_rng(1).standard_normal(10_000).astype(np.float32) * 100
    ours = bits.cast_bits(values.view(np.uint32), "F32", "BF16")
    theirs = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(ours, theirs)
    half = bits.cast_bits(values.view(np.uint32), "F32", "F16")
    assert np.array_equal(half, torch.from_numpy(values).to(torch.float16).view(torch.int16).numpy().view(np.uint16))


@pytest.fixture(scope="module")
def made(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("made")
    target = derive(tiny_base, folder / "target", seed=11)
    make_delta(str(tiny_base), str(target), folder / "delta")
    return target, folder / "delta"


def test_wrong_base_is_refused_naming_the_tensor(made: tuple[Path, Path], tmp_path: Path) -> None:
    from tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other", arch="llama", seed=4)
    with pytest.raises(ZooError, match=r"wrong base .*tensor 'lm_head.weight' has sha256") as info:
        apply_delta(str(other), made[1], tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_corrupted_delta_shard_is_refused(made: tuple[Path, Path], tiny_base: Path, tmp_path: Path) -> None:
    delta = tmp_path / "delta"
    import shutil

    shutil.copytree(made[1], delta)
    shard = next(delta.glob("delta-*.safetensors"))
    raw = bytearray(shard.read_bytes())
    raw[-100] ^= 0x01  # one bit inside the last tensor
    shard.write_bytes(bytes(raw))
    with pytest.raises(ZooError, match=r"delta shard .* is corrupted: tensor '.*' does not match its sha256"):
        apply_delta(str(tiny_base), delta, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
    shard.write_bytes(bytes(raw[: len(raw) // 2]))  # truncated shard
    with pytest.raises(ZooError, match=r"delta shard .* is corrupted"):
        apply_delta(str(tiny_base), delta, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_truncated_manifest_is_refused(made: tuple[Path, Path], tiny_base: Path, tmp_path: Path) -> None:
    import shutil

    delta = shutil.copytree(made[1], tmp_path / "delta")
    text = (delta / MANIFEST).read_text()
    (delta / MANIFEST).write_text(text[: len(text) // 3])
    with pytest.raises(ZooError, match=r"delta manifest .* is not valid JSON .* truncated"):
        apply_delta(str(tiny_base), delta, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_existing_output_is_refused_and_untouched(made: tuple[Path, Path], tiny_base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(ZooError, match=r"output path .* already exists"):
        apply_delta(str(tiny_base), made[1], out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"] and (out / "mine.txt").read_text() == "keep"
    with pytest.raises(ZooError, match=r"output path .* already exists"):
        make_delta(str(tiny_base), str(made[0]), out)


def test_cli_round_trip_and_one_line_refusal(made: tuple[Path, Path], tiny_base: Path, tmp_path: Path) -> None:
    env = {"LMBENCH_CACHE": str(tmp_path / "cache")}
    done = run_cli("zoo", "make-delta", "--base", str(tiny_base), "--target", str(made[0]),
                   "--out", str(tmp_path / "d"), env=env)
    assert done.returncode == 0, done.stderr
    assert "tensors diff 4, same 17" in done.stderr
    done = run_cli("zoo", "apply-delta", "--base", str(tiny_base), "--delta", str(tmp_path / "d"),
                   "--out", str(tmp_path / "t"), env=env)
    assert done.returncode == 0, done.stderr
    _same_files(made[0], tmp_path / "t")
    done = run_cli("zoo", "apply-delta", "--base", str(made[0]), "--delta", str(tmp_path / "d"),
                   "--out", str(tmp_path / "t2"), env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmbench: error: wrong base") and "Traceback" not in done.stderr
    assert not (tmp_path / "t2").exists()


def test_output_inside_an_input_is_refused(made: tuple[Path, Path], tiny_base: Path) -> None:
    from lmbench.errors import ConfigError

    with pytest.raises(ConfigError, match="is an input of this command"):
        apply_delta(str(tiny_base), made[1], tiny_base / "recovered")
    assert not (tiny_base / "recovered").exists()
