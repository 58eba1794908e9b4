"""A reward checkpoint (sequence classification, ONE output) as the evaluated model of `pairs` tasks.

`inspect_reward(spec)` reads config and tokenizer only (a head with more than one output is refused
here, before any weights load) and fingerprints the folder's weight CONTENTS (layout-independent, as the
causal loader does) with its tokenizer; `load_reward_weights(info)` loads it in eval mode. The result
has the fields of the causal loader's ModelIdentity / LoadedModel, so the plan and the store take it as
they are; the causal-LM check stays for every other task kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmbench.errors import CheckpointError


def reward_identity_record(folder: Path) -> dict[str, Any]:
    """Identity of a sequence-classification folder: weight contents (layout-free) and tokenizer files."""
    from lmbench.models.content_hash import safetensors_digests, weights_digest
    from lmbench.models.fingerprint import files_digest

    weights = sorted(folder.glob("*.safetensors"))
    tokenizer = sorted(p for p in folder.iterdir() if p.is_file() and p.name.startswith(("tokenizer", "vocab",
                                                                                         "special_tokens")))
    return {"weights": weights_digest(safetensors_digests(weights)) if weights else None,
            "tokenizer_files": files_digest(tokenizer), "kind": "reward"}


def inspect_reward(spec: str | None, *, device: str = "auto", max_length: int | None = None) -> Any:
    from transformers import AutoTokenizer

    from lmbench.engine.reward import check_reward_model
    from lmbench.models.fingerprint import fingerprint
    from lmbench.models.loader import ModelIdentity, _resolve_device
    from lmbench.models.sources import resolve_source

    if spec is None:
        raise CheckpointError("pairs tasks evaluate a reward model; pass its folder: lmbench eval RM --tasks pairs:FILE")
    source = resolve_source(spec)
    if source.path is None or not source.path.is_dir():
        raise CheckpointError(f"reward model {spec!r} is not a local folder; pass a sequence-classification "
                              "checkpoint saved with save_pretrained (e.g. output_dir/final of `lmbench tune reward`)")
    folder = check_reward_model(source.path)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    from transformers import AutoConfig

    positions = getattr(AutoConfig.from_pretrained(folder), "max_position_embeddings", None)
    trained = Path(folder) / "lmbench_reward.json"  # `lmbench tune reward` records the length it trained with
    recorded = json.loads(trained.read_text()).get("max_length") if trained.is_file() else None
    limits = [max_length or 512, getattr(tokenizer, "model_max_length", None), positions, recorded]
    length = min(int(x) for x in limits if isinstance(x, int) and x > 0)
    identity = reward_identity_record(Path(folder))
    return ModelIdentity(name=folder.name, source=source, dtype="float32", device=_resolve_device(device),
                         max_length=length, fingerprint=fingerprint(identity), identity=identity, tokenizer=tokenizer,
                         folder=Path(folder), load_kwargs={"model_kind": "reward"})


def load_reward_weights(info: Any) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification

    from lmbench.models.loader import LoadedModel

    try:
        model = AutoModelForSequenceClassification.from_pretrained(info.folder, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"cannot load reward model {info.source.spec!r}: {str(exc).splitlines()[0][:200]}") from None
    model.to(info.device).eval()
    return LoadedModel(model, info, sum(p.numel() for p in model.parameters()))


def is_reward_info(info: Any) -> bool:
    return getattr(info, "load_kwargs", {}).get("model_kind") == "reward"
