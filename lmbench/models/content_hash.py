"""Content hashes of weights and tokenizers: the same weights hash the same wherever they live.

A tensor's digest is the SHA-256 of its raw little-endian bytes, kept with its safetensors dtype name and
shape. The weights digest hashes every tensor's (name, dtype, shape, sha256) in name order, so one
safetensors file, a sharded save and the model in memory give one value. Files are read without torch
(the safetensors header names each tensor's byte range) and their per-tensor digests are memoised on
(absolute path, size, mtime_ns), so a second look at a checkpoint costs nothing. The zoo's delta
manifests use the same per-tensor digests.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmbench.errors import CheckpointError
from lmbench.models.memo import load_memo, save_memo

_CHUNK = 1 << 22
_MEMO = "tensor_digests.json"
_HEADER_LIMIT = 100 << 20  # safetensors caps its JSON header at 100 MB

# torch dtype name -> safetensors dtype name
_DTYPE_NAMES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2", "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
    "uint16": "U16", "uint32": "U32", "uint64": "U64", "bool": "BOOL",
}


@dataclass(frozen=True)
class TensorDigest:
    dtype: str  # safetensors name: F32, BF16, F16, U8, ...
    shape: tuple[int, ...]
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape), "sha256": self.sha256}


def weights_digest(digests: Mapping[str, TensorDigest]) -> str:
    """One SHA-256 over every tensor's name, dtype, shape and content digest, in name order."""
    outer = hashlib.sha256()
    for name in sorted(digests):
        d = digests[name]
        outer.update(json.dumps([name, d.dtype, list(d.shape), d.sha256]).encode())
    return outer.hexdigest()


def read_safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    """The header of a safetensors file (tensor name -> dtype, shape, data_offsets) and where its data starts."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(8)
            if len(raw) < 8:
                raise ValueError("file shorter than its 8-byte header length")
            (length,) = struct.unpack("<Q", raw)
            if length > _HEADER_LIMIT:
                raise ValueError(f"header length {length} is not plausible")
            header = json.loads(handle.read(length))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc}); re-save or re-download it") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a readable safetensors file (header is not an object)")
    header.pop("__metadata__", None)
    return header, 8 + length


def _file_digests(path: Path) -> dict[str, TensorDigest]:
    header, start = read_safetensors_header(path)
    size = path.stat().st_size
    digests: dict[str, TensorDigest] = {}
    with path.open("rb") as handle:
        for name, meta in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            begin, end = meta["data_offsets"]
            if start + end > size or begin > end:
                raise CheckpointError(f"{path} is truncated: tensor {name!r} ends at byte {start + end} of {size}; "
                                      "re-save or re-download the checkpoint")
            handle.seek(start + begin)
            h, left = hashlib.sha256(), end - begin
            while left:
                chunk = handle.read(min(_CHUNK, left))
                if not chunk:
                    raise CheckpointError(f"{path} is truncated inside tensor {name!r}; re-save or re-download it")
                h.update(chunk)
                left -= len(chunk)
            digests[name] = TensorDigest(meta["dtype"], tuple(meta["shape"]), h.hexdigest())
    return digests


def safetensors_digests(files: Iterable[Path]) -> dict[str, TensorDigest]:
    """Per-tensor digests of one or more safetensors files (shards of one checkpoint); memoised per file."""
    memo = load_memo(_MEMO)
    changed = False
    merged: dict[str, TensorDigest] = {}
    for path in sorted(Path(f) for f in files):
        stat = path.stat()
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if key in memo:
            digests = {n: TensorDigest(d["dtype"], tuple(d["shape"]), d["sha256"]) for n, d in memo[key].items()}
        else:
            digests = _file_digests(path)
            memo[key] = {n: d.as_json() for n, d in digests.items()}
            changed = True
        for name, digest in digests.items():
            if name in merged:
                raise CheckpointError(f"tensor {name!r} appears in two shards ({path.name} and another); "
                                      "the checkpoint is inconsistent: re-save it")
            merged[name] = digest
    if changed:
        save_memo(_MEMO, memo)
    return merged


def tensor_sha256(tensor: Any) -> TensorDigest:
    """Digest of one torch tensor, equal to the digest of the same tensor stored in a safetensors file."""
    import torch

    t = tensor.detach().to("cpu").contiguous()
    dtype = str(t.dtype).removeprefix("torch.")
    if dtype not in _DTYPE_NAMES:
        raise CheckpointError(f"cannot hash a tensor of dtype {dtype}; lmbench hashes {', '.join(_DTYPE_NAMES)}")
    raw = t.reshape(-1).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)
    return TensorDigest(_DTYPE_NAMES[dtype], tuple(t.shape), hashlib.sha256(raw.numpy().tobytes()).hexdigest())


def module_digests(model: Any) -> dict[str, TensorDigest]:
    """Per-tensor digests of an in-memory model, over the tensors `save_pretrained` would write (tied copies dropped)."""
    state = model.state_dict()
    try:
        from transformers.modeling_utils import remove_tied_weights_from_state_dict

        state = remove_tied_weights_from_state_dict(dict(state), model)
    except (ImportError, RuntimeError, AttributeError):
        seen: set[int] = set()
        kept = {}
        for name, tensor in state.items():
            ptr = tensor.untyped_storage().data_ptr() if hasattr(tensor, "untyped_storage") else id(tensor)
            if ptr not in seen:
                seen.add(ptr)
                kept[name] = tensor
        state = kept
    import torch

    return {name: tensor_sha256(t) for name, t in state.items() if isinstance(t, torch.Tensor)}


def tokenizer_digest(tokenizer: Any) -> str:
    """SHA-256 of what decides a tokenizer's ids: its vocabulary and rules, special tokens and chat template.

    The same tokenizer loaded from a folder or handed over in memory gives the same value; runtime settings
    (padding, truncation, the pad token lmbench sets when a tokenizer has none) are left out.
    """
    parts: dict[str, Any] = {"class": type(tokenizer).__name__.removesuffix("Fast")}
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        spec = json.loads(backend.to_str())
        spec.pop("truncation", None)
        spec.pop("padding", None)
        parts["backend"] = spec
    else:
        parts["vocab"] = sorted(tokenizer.get_vocab().items())
    for attr in ("bos_token", "eos_token", "unk_token"):
        parts[attr] = str(getattr(tokenizer, attr, None))
    parts["chat_template"] = getattr(tokenizer, "chat_template", None)
    for attr in ("add_bos_token", "add_eos_token"):
        parts[attr] = getattr(tokenizer, attr, None)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# Config fields that do not change a model's outputs, or that differ between a folder and the same model in
# memory (paths, versions, dtype and quantization, recorded on their own, output switches, head labels).
_CONFIG_IGNORED = frozenset({"architectures", "dtype", "torch_dtype", "transformers_version", "use_cache",
                             "output_attentions", "output_hidden_states", "return_dict", "quantization_config",
                             "pad_token_id", "id2label", "label2id", "problem_type", "initializer_range",
                             "chunk_size_feed_forward", "is_encoder_decoder"})


def config_digest(config: Any) -> str:
    """SHA-256 of a model config's output-relevant fields (a `PretrainedConfig` or its dict): two checkpoints
    with the same tensors but another `rope_theta`, context length or activation are two models."""
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)

    def kept(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k: kept(v) if isinstance(v, Mapping) else v for k, v in d.items()
                if not k.startswith("_") and k not in _CONFIG_IGNORED}

    return hashlib.sha256(json.dumps(kept(data), sort_keys=True, default=str).encode()).hexdigest()


def identity_record(*, weights: str, config: str, tokenizer: str, dtype: str, bos: bool, max_length: int,
                    quantization: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """What a model fingerprint hashes; one constructor for checkpoints on disk and models in memory.
    `config` is `config_digest(model config)`."""
    return {"weights": weights, "config": config, "tokenizer": tokenizer, "dtype": dtype, "bos": bos,
            "max_length": max_length, "quantization": dict(quantization) if quantization else None, **extra}


__all__ = ["TensorDigest", "config_digest", "identity_record", "module_digests", "read_safetensors_header", "safetensors_digests",
           "tensor_sha256", "tokenizer_digest", "weights_digest"]
