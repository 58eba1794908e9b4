"""Targets derived from a tiny base for the zoo tests: perturbed, cast, vocabulary-extended, sharded."""

from __future__ import annotations

import shutil
from pathlib import Path


def derive(base: Path, out: Path, *, dtype: str = "float32", perturb: tuple[str, ...] = ("mlp.up_proj", "q_proj"),
           scale: float = 1e-2, new_tokens: int = 0, seed: int = 0, shard_size: str | None = None) -> Path:
    """Load `base`, add noise to the tensors whose names contain `perturb`, extend the vocabulary by
    `new_tokens`, cast to `dtype` and save with save_pretrained (sharded when `shard_size` is given)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(base)
    generator = torch.Generator().manual_seed(seed)
    if new_tokens:
        tokenizer.add_tokens([f"<extra_{i}>" for i in range(new_tokens)])
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model = model.to(getattr(torch, dtype))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if any(p in name for p in perturb):
                noise = torch.randn(param.shape, generator=generator) * scale
                param.add_(noise.to(param.dtype))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, **({"max_shard_size": shard_size} if shard_size else {}))
    tokenizer.save_pretrained(out)
    return out


def cast_copy(base: Path, out: Path, dtype: str) -> Path:
    """`base` saved again in another dtype, unchanged otherwise."""
    return derive(base, out, dtype=dtype, perturb=())


def copy_folder(src: Path, out: Path) -> Path:
    shutil.copytree(src, out)
    return out
