"""Score (prompt, response) pairs with a reward model: any sequence-classification checkpoint with one output.

The pair is formatted as `prompt + " " + response` (HH-RLHF prompts end with "Assistant:"), truncated from
the left to the reward model's length so the response is always seen; the format is recorded with results.
Reward models trained later by lmbench are plain `AutoModelForSequenceClassification` folders and plug in as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lmbench.errors import CheckpointError, ConfigError

PAIR_FORMAT = "{prompt} {response}"


def check_reward_model(path: str | Path) -> Path:
    """The reward model folder, after checking (config only, no weights) that it has one output."""
    from transformers import AutoConfig

    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"reward model {str(path)!r} is not a model folder with config.json; "
                              "pass a sequence-classification checkpoint saved with save_pretrained")
    config = AutoConfig.from_pretrained(folder)
    if config.num_labels != 1:
        raise ConfigError(f"reward model {folder} has {config.num_labels} outputs; a reward model needs a "
                          "single-score head (num_labels=1), e.g. one trained with a pairwise loss")
    return folder


def reward_fingerprint(path: str | Path, *, max_length: int = 512) -> str:
    """The reward model's content fingerprint (the one rule of lmbench.models.content_hash: weights' tensors,
    tokenizer, dtype, max length), so retrained weights at the same path are a new model and a new cache key."""
    from transformers import AutoTokenizer

    from lmbench.models.content_hash import identity_record, tokenizer_digest
    from lmbench.models.fingerprint import fingerprint, folder_weights

    folder = check_reward_model(path)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    length = min(max_length, getattr(tokenizer, "model_max_length", max_length) or max_length)
    safetensors = any(folder.glob("*.safetensors"))
    identity = identity_record(weights=folder_weights(folder, safetensors=safetensors),
                               tokenizer=tokenizer_digest(tokenizer), dtype="float32", bos=False, max_length=length,
                               role="reward", pair_format=PAIR_FORMAT)
    return fingerprint(identity)


class RewardScorer:
    def __init__(self, path: str | Path, *, device: str = "cpu", batch_size: int = 8, max_length: int = 512) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = check_reward_model(path)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.tokenizer.truncation_side = "left"
        self.model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32).to(device).eval()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.device = device
        self.batch_size = batch_size
        self.max_length = min(max_length, getattr(self.tokenizer, "model_max_length", max_length) or max_length)
        self.name = folder.name

    @torch.no_grad()
    def score(self, prompts: list[str], responses: list[str]) -> list[float]:
        texts = [PAIR_FORMAT.format(prompt=p.rstrip(), response=r.strip()) for p, r in zip(prompts, responses)]
        scores: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(texts[start : start + self.batch_size], return_tensors="pt", padding=True,
                                   truncation=True, max_length=self.max_length).to(self.device)
            scores += self.model(**batch).logits[:, 0].float().tolist()
        return scores

    def describe(self) -> dict[str, Any]:
        return {"reward_model": self.name, "pair_format": PAIR_FORMAT, "max_length": self.max_length,
                "truncation": "left"}
