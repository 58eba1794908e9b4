"""A model already in memory (a `transformers.PreTrainedModel` a trainer just produced) as a LoadedModel.

Its fingerprint follows the one rule for causal LMs (lmbench.models.content_hash): the weights' content
(every tensor `save_pretrained` would write), the tokenizer, dtype, BOS policy, max length and quantization;
no path and no source kind, so the same weights evaluated from a folder, a sharded copy or memory are one
model and reuse each other's answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmbench.errors import CheckpointError, ConfigError
from lmbench.models.content_hash import config_digest, identity_record, module_digests, tokenizer_digest, weights_digest
from lmbench.models.fingerprint import fingerprint
from lmbench.models.loader import LoadedModel, ModelIdentity, resolve_max_length
from lmbench.models.sources import CheckpointSource


def check_causal_model(model: Any) -> Any:
    """The transformers model behind `model` (a PreTrainedModel, or a peft model around one), if it is a causal LM."""
    import torch
    from transformers import PreTrainedModel
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"model is a {type(model).__name__}; pass a checkpoint path, a Hub id or a loaded "
                          "transformers causal LM (e.g. AutoModelForCausalLM.from_pretrained(...))")
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not isinstance(base, PreTrainedModel):
        raise ConfigError(f"model is a {type(base).__name__}, not a transformers PreTrainedModel; pass a checkpoint "
                          "path or a loaded transformers causal LM")
    causal = {c for v in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values() for c in ((v,) if isinstance(v, str) else v)}
    kind = type(base).__name__
    if kind not in causal and not kind.endswith(("ForCausalLM", "LMHeadModel")):
        raise CheckpointError(f"model is a {kind}, not a causal language model; lmbench scores decoder-only LMs: "
                              "pass e.g. AutoModelForCausalLM.from_pretrained(...)")
    return base


def _quantization(model: Any) -> dict[str, Any] | None:
    """The bitsandbytes settings a model was loaded with, as lmbench.models.quantization records them."""
    config = getattr(getattr(model, "config", None), "quantization_config", None)
    if config is None:
        return None
    settings = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    return json.loads(json.dumps(settings, sort_keys=True, default=str))


def loaded_from_memory(model: Any, tokenizer: Any, *, name: str | None = None, max_length: int | None = None,
                       quantization: dict[str, Any] | None = None) -> LoadedModel:
    """Wrap an in-memory causal LM and its tokenizer; the model stays where it is (device, dtype, weights)."""
    base = check_causal_model(model)
    if tokenizer is None:
        raise ConfigError("an in-memory model needs its tokenizer: pass tokenizer=AutoTokenizer.from_pretrained(...)")
    if not callable(getattr(tokenizer, "encode", None)):
        raise ConfigError(f"tokenizer= is a {type(tokenizer).__name__}, not a transformers tokenizer")
    if tokenizer.pad_token_id is None:  # what loading from a folder does too (not part of the tokenizer digest)
        tokenizer.pad_token_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    length = max_length or resolve_max_length(base.config, tokenizer)
    probe = tokenizer.encode("a")
    adds_bos = bool(tokenizer.bos_token_id is not None and probe and probe[0] == tokenizer.bos_token_id)
    dtype = str(base.dtype).removeprefix("torch.")
    quant = quantization if quantization is not None else _quantization(base)
    identity = identity_record(weights=weights_digest(module_digests(model)), config=config_digest(base.config),
                               tokenizer=tokenizer_digest(tokenizer),
                               dtype=dtype, bos=adds_bos, max_length=length, quantization=quant)
    origin = str(getattr(base, "name_or_path", "") or "")
    label = name or (Path(origin).name if origin else type(base).__name__)
    device = next(model.parameters()).device.type
    info = ModelIdentity(name=label, source=CheckpointSource(kind="memory", spec=label), dtype=dtype, device=device,
                         max_length=length, fingerprint=fingerprint(identity), identity=identity, tokenizer=tokenizer,
                         folder=Path(origin) if origin else Path("."), quantization=quant)
    return LoadedModel(model, info, sum(p.numel() for p in model.parameters()))
