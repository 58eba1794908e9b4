"""Quantization settings a checkpoint is loaded with (bitsandbytes 4-/8-bit, e.g. for QLoRA), and their identity.

The identity record holds the full `BitsAndBytesConfig.to_dict()`, defaults filled in, so `{"load_in_4bit": True}`
and the same settings spelled out give one fingerprint, and equal what an in-memory model quantized the same way
reports in `model.config.quantization_config`.
"""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Mapping
from typing import Any

from lmbench.errors import ConfigError


def quantization_config(quantization: Any, torch_dtype: Any) -> tuple[Any, dict[str, Any] | None]:
    """(`BitsAndBytesConfig` to load with, its JSON identity) for a dict or config; (None, None) for full precision.

    A 4-bit config without `bnb_4bit_compute_dtype` computes in the load dtype (float32 on CPU).
    """
    if quantization is None:
        return None, None
    from transformers import BitsAndBytesConfig

    if isinstance(quantization, BitsAndBytesConfig):
        config = quantization
    elif isinstance(quantization, Mapping):
        # what `to_dict()` adds (quant_method, private mirrors such as _load_in_4bit) is not a setting
        settings = {k: v for k, v in quantization.items() if k != "quant_method" and not str(k).startswith("_")}
        fields = [p for p in inspect.signature(BitsAndBytesConfig.__init__).parameters if p not in ("self", "kwargs")]
        unknown = sorted(k for k in settings if k not in fields)
        if unknown:
            close = difflib.get_close_matches(unknown[0], fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown quantization setting {unknown[0]!r}{hint}; expected BitsAndBytesConfig "
                              f"fields such as load_in_4bit, bnb_4bit_quant_type, bnb_4bit_compute_dtype")
        if settings.get("load_in_4bit") and "bnb_4bit_compute_dtype" not in settings:
            settings["bnb_4bit_compute_dtype"] = torch_dtype
        try:
            config = BitsAndBytesConfig(**settings)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid quantization settings {settings}: {str(exc).splitlines()[0]}") from None
    else:
        raise ConfigError(f"quantization must be a dict of BitsAndBytesConfig fields or a BitsAndBytesConfig, "
                          f"got {type(quantization).__name__}")
    if not (config.load_in_4bit or config.load_in_8bit):
        raise ConfigError("quantization settings load neither 4-bit nor 8-bit; pass load_in_4bit=True (QLoRA) "
                          "or leave quantization out for full precision")
    record = json.loads(json.dumps(config.to_dict(), sort_keys=True, default=str))
    return config, record
