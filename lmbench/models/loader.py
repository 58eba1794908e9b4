"""Load any checkpoint into a scorer-ready model with its fingerprint."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmbench.errors import CheckpointError, ConfigError
from lmbench.models.content_hash import config_digest, identity_record, safetensors_digests, tokenizer_digest, weights_digest
from lmbench.models.fingerprint import bytes_digest, fingerprint, folder_weights, gguf_weights
from lmbench.models.quantization import quantization_config
from lmbench.models.options import DEVICES, DTYPES
from lmbench.models.sources import CheckpointSource, resolve_source
from lmbench.models.weight_files import check_max_length

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_MAX_LENGTH = 2048
_TOKENIZER_INFINITY = 10**29


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
    revision: str | None = None  # the Hub revision a Hub model was downloaded at
    quantization: dict[str, Any] | None = None  # bitsandbytes settings the weights are loaded with (None: full)

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


def inspect_checkpoint(
    spec: str | None,
    *,
    dtype: str = "auto",
    device: str = "auto",
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    max_length: int | None = None,
    base: str | None = None,
    quantization: Any = None,
) -> ModelIdentity:
    """Resolve CHECKPOINT, read its config and tokenizer, and fingerprint it by content; weights stay on disk.

    `quantization`: bitsandbytes settings (a dict of `BitsAndBytesConfig` fields, e.g. `{"load_in_4bit": True,
    "bnb_4bit_quant_type": "nf4"}`, or a `BitsAndBytesConfig`) to load the weights with, for QLoRA; None loads
    full precision. The settings are part of the identity: a 4-bit load is another model than the full one.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    source = resolve_source(spec, base=base)
    device = _resolve_device(device)
    options = {"dtype": dtype, "device": device, "trust_remote_code": trust_remote_code,
               "allow_pickle": allow_pickle, "max_length": max_length, "quantization": quantization}
    if source.kind == "lora":
        assert source.path is not None and source.base is not None
        base_identity = inspect_checkpoint(source.base, **options)
        identity = {"adapter": _adapter_identity(source.path), "base": base_identity.fingerprint}
        return ModelIdentity(name=source.path.name, source=source, dtype=base_identity.dtype, device=device,
                             max_length=base_identity.max_length, fingerprint=fingerprint(identity), identity=identity,
                             tokenizer=base_identity.tokenizer, folder=source.path, base=base_identity,
                             quantization=base_identity.quantization)
    folder, gguf_file, revision = _locate(source)
    from transformers import AutoConfig, AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    try:
        config = AutoConfig.from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"cannot read the model config of {source.spec!r}: {str(exc).splitlines()[0]}") from None
    _check_causal(config, repr(source.spec))
    check_max_length(config, max_length, source.spec)  # over the model's positions: an IndexError later
    torch_dtype = _resolve_dtype(dtype, device, config)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"cannot load the tokenizer of {source.spec!r}: {str(exc).splitlines()[0][:200]}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    if gguf_file:
        weights = gguf_weights(folder / gguf_file)
    else:
        kwargs["use_safetensors"] = _weights_format(folder, allow_pickle)
        weights = folder_weights(folder, safetensors=kwargs["use_safetensors"])
    quant, quant_record = quantization_config(quantization, torch_dtype)
    if quant is not None:
        if gguf_file:
            raise ConfigError(f"{source.spec!r} is a GGUF file, already quantized; load it without quantization")
        kwargs["quantization_config"] = quant
        kwargs["device_map"] = {"": device}  # bitsandbytes places quantized weights at load; .to() cannot move them
    length = max_length or resolve_max_length(config, tokenizer)
    probe = tokenizer.encode("a")
    adds_bos = bool(tokenizer.bos_token_id is not None and probe and probe[0] == tokenizer.bos_token_id)
    dtype_name = str(torch_dtype).removeprefix("torch.")
    # Content only, no source kind or path: the built-in default and its folder, a sharded re-save and the
    # model in memory (lmbench.models.in_memory) are one model with one fingerprint.
    full = identity_record(weights=weights, config=config_digest(config), tokenizer=tokenizer_digest(tokenizer), dtype=dtype_name, bos=adds_bos,
                           max_length=length, quantization=quant_record)
    parent = inspect_checkpoint(source.base, **options) if source.kind == "delta" else None  # lineage only
    return ModelIdentity(name=_display_name(source), source=source, dtype=dtype_name, device=device, max_length=length,
                         fingerprint=fingerprint(full), identity=full, tokenizer=tokenizer, folder=folder,
                         load_kwargs={**kwargs, "dtype": torch_dtype}, base=parent, revision=revision,
                         quantization=quant_record)


def _adapter_identity(folder: Path) -> dict[str, Any]:
    """A LoRA adapter: its tensors' content and its settings (rank, alpha, targets), not where its base lies."""
    try:
        settings = json.loads((folder / "adapter_config.json").read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {folder / 'adapter_config.json'}: {exc}; re-save the adapter") from None
    for key in ("base_model_name_or_path", "revision"):
        settings.pop(key, None)
    tensors = sorted(folder.glob("*.safetensors"))
    pickles = sorted(p for p in folder.glob("*.bin") if p.is_file())
    if tensors:
        weights = weights_digest(safetensors_digests(tensors))
    elif pickles:
        weights = "pickle:" + bytes_digest(pickles, folder)
    else:
        raise CheckpointError(f"adapter folder {folder} holds no adapter weights (adapter_model.safetensors); "
                              "is the save complete?")
    return {"weights": weights, "config": settings}


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
        from lmbench.models.weight_files import check_safetensors

        check_safetensors(info.folder)  # a truncated adapter file: one line naming it
        try:
            model = PeftModel.from_pretrained(base.model, info.folder).merge_and_unload()
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"cannot apply adapter {info.source.spec!r} to {info.base.source.spec!r}: "
                                  f"{str(exc).splitlines()[0]}") from None
        return LoadedModel(model.eval(), info, sum(p.numel() for p in model.parameters()))
    import pickle

    from transformers import AutoModelForCausalLM

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
    if "quantization_config" not in info.load_kwargs:
        model.to(info.device)
    model.eval()
    return LoadedModel(model, info, sum(p.numel() for p in model.parameters()))


def _locate(source: CheckpointSource) -> tuple[Path, str | None, str | None]:
    """Local folder, optional GGUF file name, and the Hub revision (Hub models only)."""
    if source.kind == "default":
        from lmbench.models.default_model import default_model_dir

        return default_model_dir(), None, None
    if source.kind == "delta":
        from lmbench.zoo.source import recovered_folder

        return recovered_folder(source), None, None
    if source.kind == "hub":
        folder = _download_hub(source)
        return folder, None, folder.name
    assert source.path is not None
    if source.kind == "gguf":
        return source.path.parent, source.path.name, None
    return source.path, None, None


def _display_name(source: CheckpointSource) -> str:
    if source.kind == "default":
        from lmbench.models.default_model import DEFAULT_MODEL_NAME

        return DEFAULT_MODEL_NAME
    if source.kind == "hub":
        return source.spec
    assert source.path is not None
    return source.path.stem if source.kind == "gguf" else source.path.name
