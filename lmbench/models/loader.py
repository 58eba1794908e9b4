"""Load any checkpoint into a scorer-ready model with its fingerprint."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmbench.errors import CheckpointError, ConfigError
from lmbench.models.fingerprint import files_digest, fingerprint
from lmbench.models.options import DEVICES, DTYPES
from lmbench.models.sources import CheckpointSource, resolve_source

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_MAX_LENGTH = 2048
_TOKENIZER_INFINITY = 10**29
_IDENTITY_FILES = ("*.safetensors", "*.bin", "*.gguf", "config.json", "generation_config.json", "tokenizer*",
                   "special_tokens_map.json", "vocab*", "merges.txt", "*.model", "chat_template*", "adapter_config.json")


@dataclass
class ModelIdentity:
    """Everything that identifies a checkpoint, read without loading its weights."""

    name: str
    source: CheckpointSource
    dtype: str
    device: str
    max_length: int
    fingerprint: str
    identity: dict[str, Any]
    tokenizer: PreTrainedTokenizerBase
    folder: Path
    load_kwargs: dict[str, Any] = field(default_factory=dict)
    base: ModelIdentity | None = None  # the model a LoRA adapter applies to, or a delta was recovered from

    @property
    def base_name(self) -> str | None:
        return self.base.name if self.base else None

    @property
    def base_fingerprint(self) -> str | None:
        return self.base.fingerprint if self.base else None


@dataclass
class LoadedModel:
    """A causal LM and its tokenizer, ready for the engine, with what identifies them."""

    model: PreTrainedModel
    info: ModelIdentity
    n_params: int

    def __getattr__(self, name: str) -> Any:  # name, fingerprint, tokenizer, max_length, ... come from `info`
        if name == "info":
            raise AttributeError(name)
        return getattr(self.info, name)


def _resolve_device(device: str) -> str:
    import torch

    if device not in DEVICES:
        raise ConfigError(f"--device {device!r} is not one of {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")
    return device


def _resolve_dtype(dtype: str, device: str, config: Any) -> torch.dtype:
    import torch

    if dtype not in DTYPES:
        raise ConfigError(f"--dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if dtype != "auto":
        return getattr(torch, dtype)
    # On CPU float32 is both exact and fastest (bfloat16 measured ~7x slower here).
    if device == "cpu":
        return torch.float32
    stored = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    return stored if stored in (torch.float16, torch.bfloat16) else torch.float32


def resolve_max_length(config: Any, tokenizer: Any) -> int:
    """Context length as lm-evaluation-harness resolves it, so truncation agrees."""
    cfg = getattr(config, "text_config", None) or config
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(cfg, attr, None)
        if value is not None:
            return int(value)
    model_max = getattr(tokenizer, "model_max_length", None)
    if model_max is not None and model_max < _TOKENIZER_INFINITY:
        return int(model_max)
    return DEFAULT_MAX_LENGTH


def _download_hub(source: CheckpointSource) -> Path:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]
    try:
        return Path(snapshot_download(source.hub_id, revision=source.revision, allow_patterns=patterns))
    except Exception as exc:  # noqa: BLE001 - any hub failure means the same fix for the user
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"could not fetch {source.spec!r} from the Hugging Face Hub ({reason}); offline, pass a local "
            "model folder or .gguf file instead (plain `lmbench eval` uses the built-in SmolLM2-135M-Instruct)"
        ) from None


def _check_causal(config: Any, where: str) -> None:
    """Accept configs whose saved architecture (or, lacking one, whose model type) is a causal LM."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    model_type = getattr(config, "model_type", None)
    architectures = getattr(config, "architectures", None) or []
    causal_classes = {c for v in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values() for c in ((v,) if isinstance(v, str) else v)}
    if architectures:
        ok = any(a in causal_classes or a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
        kind = "/".join(architectures)
    else:
        ok = model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        kind = f"{model_type or 'unknown'} model"
    if not ok:
        raise CheckpointError(
            f"{where} is a {kind} ({model_type}), not a causal language model; "
            "lmbench scores decoder-only LMs (Llama, Mistral, Qwen, GPT-2, ...): pass such a checkpoint"
        )


def _weights_format(folder: Path, allow_pickle: bool) -> bool:
    """True to load safetensors; pickle weights only with an explicit flag."""
    if any(folder.glob("*.safetensors")):
        return True
    if any(folder.glob("*.bin")) or any(folder.glob("*.pt")):
        if not allow_pickle:
            raise CheckpointError(
                f"{folder} has only pickle weights (*.bin), which can run code when loaded; "
                "pass --allow-pickle if you trust the file, or convert it to safetensors"
            )
        return False
    raise CheckpointError(f"{folder} holds no weight files (*.safetensors or *.bin); is the save complete?")


def _identity_files(folder: Path) -> list[Path]:
    found = {p for pattern in _IDENTITY_FILES for p in folder.glob(pattern) if p.is_file()}
    return sorted(found)


def inspect_checkpoint(
    spec: str | None,
    *,
    dtype: str = "auto",
    device: str = "auto",
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    max_length: int | None = None,
    base: str | None = None,
) -> ModelIdentity:
    """Resolve CHECKPOINT, read its config and tokenizer, and fingerprint it; weights stay on disk."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    source = resolve_source(spec, base=base)
    device = _resolve_device(device)
    options = {"dtype": dtype, "device": device, "trust_remote_code": trust_remote_code,
               "allow_pickle": allow_pickle, "max_length": max_length}
    if source.kind == "lora":
        assert source.path is not None and source.base is not None
        base_identity = inspect_checkpoint(source.base, **options)
        identity = {"adapter_files": files_digest(_identity_files(source.path)), "base": base_identity.fingerprint,
                    "kind": "lora"}
        return ModelIdentity(name=source.path.name, source=source, dtype=base_identity.dtype, device=device,
                             max_length=base_identity.max_length, fingerprint=fingerprint(identity), identity=identity,
                             tokenizer=base_identity.tokenizer, folder=source.path, base=base_identity)
    folder, gguf_file, identity = _locate(source)
    from transformers import AutoConfig, AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    try:
        config = AutoConfig.from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"cannot read the model config of {source.spec!r}: {str(exc).splitlines()[0]}") from None
    _check_causal(config, repr(source.spec))
    torch_dtype = _resolve_dtype(dtype, device, config)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"cannot load the tokenizer of {source.spec!r}: {str(exc).splitlines()[0][:200]}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    if not gguf_file:
        kwargs["use_safetensors"] = _weights_format(folder, allow_pickle)
    length = max_length or resolve_max_length(config, tokenizer)
    probe = tokenizer.encode("a")
    adds_bos = bool(tokenizer.bos_token_id is not None and probe and probe[0] == tokenizer.bos_token_id)
    dtype_name = str(torch_dtype).removeprefix("torch.")
    # The built-in default is an HF folder: the same files must give the same fingerprint as that folder's path
    # (else a LoRA adapter whose config names the folder would record a base no run of the default matches).
    kind = "hf_dir" if source.kind in ("default", "delta") else source.kind  # a recovered delta is its target
    full = {**identity, "kind": kind, "dtype": dtype_name, "bos": adds_bos, "max_length": length,
            "tokenizer_class": type(tokenizer).__name__}
    parent = inspect_checkpoint(source.base, **options) if source.kind == "delta" else None  # lineage only
    return ModelIdentity(name=_display_name(source), source=source, dtype=dtype_name, device=device, max_length=length,
                         fingerprint=fingerprint(full), identity=full, tokenizer=tokenizer, folder=folder,
                         load_kwargs={**kwargs, "dtype": torch_dtype}, base=parent)


def load_model(spec: str | None, **options: Any) -> LoadedModel:
    """Load CHECKPOINT (see `resolve_source`, options as `inspect_checkpoint`); errors are CheckpointError."""
    return load_weights(inspect_checkpoint(spec, **options))


def load_weights(info: ModelIdentity) -> LoadedModel:
    """The model behind an inspected checkpoint, on its device, in eval mode (LoRA adapters merged)."""
    if info.base is not None and info.source.kind == "lora":
        base = load_weights(info.base)
        try:
            from peft import PeftModel
        except ImportError:
            raise CheckpointError("loading a LoRA adapter needs peft: pip install peft") from None
        print(f"lmbench: applying LoRA adapter {info.folder} to {info.base.name}", file=sys.stderr)
        try:
            model = PeftModel.from_pretrained(base.model, info.folder).merge_and_unload()
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"cannot apply adapter {info.source.spec!r} to {info.base.source.spec!r}: "
                                  f"{str(exc).splitlines()[0]}") from None
        return LoadedModel(model.eval(), info, sum(p.numel() for p in model.parameters()))
    from transformers import AutoModelForCausalLM

    import pickle

    from lmbench.models.weight_files import check_safetensors, pickle_refused

    check_safetensors(info.folder)  # a truncated file: one line naming it, not safetensors' own error
    try:
        model = AutoModelForCausalLM.from_pretrained(info.folder, **info.load_kwargs)
    except pickle.UnpicklingError as exc:
        raise pickle_refused(exc, info.source.spec) from None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"cannot load {info.source.spec!r}: {str(exc).splitlines()[0][:200]}") from None
    if getattr(model, "hf_quantizer", None) is not None and "gguf_file" in info.load_kwargs:
        model.hf_quantizer.remove_quantization_config(model)
    model.to(info.device).eval()
    return LoadedModel(model, info, sum(p.numel() for p in model.parameters()))


def _locate(source: CheckpointSource) -> tuple[Path, str | None, dict[str, Any]]:
    """Local folder, optional GGUF file name, and the weights identity record."""
    if source.kind == "default":
        from lmbench.models.default_model import default_model_dir

        folder = default_model_dir()
        return folder, None, {"files": files_digest(_identity_files(folder))}
    if source.kind == "delta":
        from lmbench.zoo.source import recovered_folder

        folder = recovered_folder(source)
        return folder, None, {"files": files_digest(_identity_files(folder))}
    if source.kind == "hub":
        folder = _download_hub(source)
        return folder, None, {"hub_id": source.hub_id, "revision": folder.name}
    assert source.path is not None
    if source.kind == "gguf":
        return source.path.parent, source.path.name, {"files": files_digest([source.path])}
    return source.path, None, {"files": files_digest(_identity_files(source.path))}


def _display_name(source: CheckpointSource) -> str:
    if source.kind == "default":
        from lmbench.models.default_model import DEFAULT_MODEL_NAME

        return DEFAULT_MODEL_NAME
    if source.kind == "hub":
        return source.spec
    assert source.path is not None
    return source.path.stem if source.kind == "gguf" else source.path.name
