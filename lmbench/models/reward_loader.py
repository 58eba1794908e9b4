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


def reward_max_length(folder: Path, tokenizer: Any, requested: int | None = None, config: Any = None) -> int:
    """The length a reward model scores at: the smallest of the request (512), the tokenizer's and the position
    limits, and the length `lmbench tune reward` trained with (lmbench_reward.json)."""
    from transformers import AutoConfig

    config = config if config is not None else AutoConfig.from_pretrained(folder)
    positions = getattr(config, "max_position_embeddings", None)
    trained = Path(folder) / "lmbench_reward.json"
    recorded = json.loads(trained.read_text()).get("max_length") if trained.is_file() else None
    limits = [requested or 512, getattr(tokenizer, "model_max_length", None), positions, recorded]
    return min(int(x) for x in limits if isinstance(x, int) and x > 0)


def reward_identity_record(folder: Path, tokenizer: Any = None, max_length: int | None = None) -> dict[str, Any]:
    """The one identity of a reward folder, whether it is the evaluated model of a `pairs` task, the reward of a
    generation task or a RAFT/reward-recipe candidate: content_hash's rule (weight tensors, tokenizer, dtype,
    length) plus the role and the (prompt, response) text format it scores."""
    from transformers import AutoConfig, AutoTokenizer

    from lmbench.engine.reward import PAIR_FORMAT
    from lmbench.models.content_hash import config_digest, identity_record, tokenizer_digest
    from lmbench.models.fingerprint import folder_weights

    folder = Path(folder)
    tokenizer = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(folder)
    config = AutoConfig.from_pretrained(folder)
    return identity_record(weights=folder_weights(folder, safetensors=any(folder.glob("*.safetensors"))),
                           config=config_digest(config), tokenizer=tokenizer_digest(tokenizer), dtype="float32",
                           bos=False, max_length=reward_max_length(folder, tokenizer, max_length, config),
                           role="reward", pair_format=PAIR_FORMAT)


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
    identity = reward_identity_record(Path(folder), tokenizer, max_length)
    return ModelIdentity(name=folder.name, source=source, dtype="float32", device=_resolve_device(device),
                         max_length=identity["max_length"], fingerprint=fingerprint(identity), identity=identity, tokenizer=tokenizer,
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
