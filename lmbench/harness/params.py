"""The harness's generation kwargs (HFLM semantics) as lmbench generation parameters."""

from __future__ import annotations

import hashlib
import sys
from typing import Any

DEFAULT_MAX_GEN_TOKS = 256  # the harness's HFLM default
GENERATION_KEYS = ("top_p", "top_k")


def generation_params(prompt: str, kwargs: dict[str, Any], *, seed: int, repeat: int = 0,
                      warned: set[str] | None = None) -> dict[str, Any]:
    """`until`, `max_gen_toks`, `do_sample`/`temperature` (+ top_p/top_k); a sampled request is seeded from
    `seed`, its prompt and which repeat it is. Other settings are ignored, said once per `warned` set."""
    kwargs = dict(kwargs)
    until = kwargs.pop("until", None)
    stop = [until] if isinstance(until, str) else list(until or [])
    temperature = float(kwargs.pop("temperature", 0.0) or 0.0)
    do_sample = bool(kwargs.pop("do_sample", False)) and temperature > 0
    params: dict[str, Any] = {"max_new_tokens": int(kwargs.pop("max_gen_toks", DEFAULT_MAX_GEN_TOKS)),
                              "do_sample": do_sample, "stop": [s for s in stop if s]}
    if do_sample:
        params["temperature"] = temperature
        params.update({k: kwargs.pop(k) for k in GENERATION_KEYS if k in kwargs})
        params["seed"] = seed + repeat + int(hashlib.sha256(prompt.encode()).hexdigest()[:6], 16) * 1009
    warned = set() if warned is None else warned
    ignored = sorted(set(kwargs) - set(GENERATION_KEYS) - warned)
    if ignored:  # e.g. num_beams, repetition_penalty: say so once instead of generating differently unannounced
        warned.update(ignored)
        print(f"lmbench: note: generation settings {', '.join(ignored)} of this harness task are not supported by "
              "lmbench's engine and are ignored", file=sys.stderr)
    return params
