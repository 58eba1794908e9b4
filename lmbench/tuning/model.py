"""Loading a base model for training: full precision, LoRA (peft), QLoRA (bitsandbytes 4-bit nf4 + LoRA).

The base is resolved and fingerprinted by `lmbench.models.loader.inspect_checkpoint` (the function
evaluation uses), so the base of a candidate has the fingerprint `lmbench eval` gives it.
LoRA targets default to peft's per-architecture table (llama/mistral/qwen2 q_proj,v_proj; gpt2 c_attn;
gpt_neox query_key_value; ...), overridable with `lora_targets`.
"""

from __future__ import annotations

import os
from typing import Any

from lmbench.models.loader import ModelIdentity

BNB_OFF_ENV = "LMBENCH_DISABLE_BITSANDBYTES"  # set to 1 where bitsandbytes is installed but must not be used


def default_lora_targets(model_type: str | None) -> list[str] | None:
    """peft's default LoRA target modules for an architecture (None when peft has none)."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as TARGETS

    targets = TARGETS.get(model_type or "")
    return list(targets) if targets else None


def model_type_of(info: ModelIdentity) -> str | None:
    from transformers import AutoConfig

    kwargs = {"gguf_file": info.load_kwargs["gguf_file"]} if "gguf_file" in info.load_kwargs else {}
    return getattr(AutoConfig.from_pretrained(info.folder, **kwargs), "model_type", None)


def bitsandbytes_problem(device: str) -> str | None:
    """Why 4-bit bitsandbytes cannot run on `device` here (None when it can): a real nf4 round trip is tried."""
    if os.environ.get(BNB_OFF_ENV, "").strip() not in ("", "0"):
        return (f"method=qlora needs bitsandbytes 4-bit, which is switched off here ({BNB_OFF_ENV}="
                f"{os.environ[BNB_OFF_ENV]}); use method=lora (same adapter, full-precision base) "
                f"or unset {BNB_OFF_ENV}")
    try:
        import bitsandbytes.functional as bnbf
        import torch
    except ImportError as exc:
        return f"method=qlora needs bitsandbytes ({exc}); pip install bitsandbytes, or use method=lora"
    try:
        weight = torch.randn(64, 64, device=device)
        packed, state = bnbf.quantize_4bit(weight, quant_type="nf4", compress_statistics=True)
        bnbf.dequantize_4bit(packed, state)
    except (RuntimeError, NotImplementedError, ValueError, AttributeError, TypeError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return f"bitsandbytes cannot run 4-bit nf4 on {device} ({reason}); use method=lora, or a device it supports"
    return None


def quantization_record(method: str) -> dict[str, Any] | None:
    """What the identity of a QLoRA candidate records about its base's quantization."""
    if method != "qlora":
        return None
    return {"method": "bitsandbytes", "bits": 4, "quant_type": "nf4", "double_quant": True}


def load_for_training(config: Any, info: ModelIdentity, targets: list[str] | None) -> Any:
    """The trainable model for `config.method` (a peft model for lora/qlora) on info.device."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs = dict(info.load_kwargs)
    if config.method == "qlora":
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if info.device == "cuda" else torch.float32
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute)
        kwargs["device_map"] = {"": info.device}
        kwargs["dtype"] = compute
    model = AutoModelForCausalLM.from_pretrained(info.folder, **kwargs)
    if getattr(model, "hf_quantizer", None) is not None and "gguf_file" in kwargs:
        model.hf_quantizer.remove_quantization_config(model)
    if config.method != "qlora":
        model.to(info.device)
    model.config.use_cache = False
    if config.method not in ("lora", "qlora"):
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if config.method == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM", bias="none")
    peft_model = get_peft_model(model, lora)
    # `lmbench eval ADAPTER` finds the base here: the resolved base folder, not what the user typed.
    base = info.source.path if info.source.kind == "gguf" else info.folder
    peft_model.peft_config["default"].base_model_name_or_path = str(base)
    return peft_model


def qlora_identity(model: Any, final: Any, base: ModelIdentity) -> ModelIdentity:
    """A QLoRA candidate: the adapter's identity plus the 4-bit quantization of the base it runs on."""
    from dataclasses import replace

    from lmbench.models.fingerprint import fingerprint
    from lmbench.models.loader import inspect_checkpoint

    info = inspect_checkpoint(str(final), device=base.device)
    identity = {**info.identity, "quantization": quantization_record("qlora")}
    return replace(info, identity=identity, fingerprint=fingerprint(identity))
