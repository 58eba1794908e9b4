"""Score (prompt, response) pairs with a reward model: any sequence-classification checkpoint with one output.

The pair is formatted as `prompt + " " + response` (HH-RLHF prompts end with "Assistant:"), truncated from
the left to the reward model's length so the response is always seen; the format is recorded with results.
Reward models trained later by lmbench are plain `AutoModelForSequenceClassification` folders and plug in as is.

`load_reward(spec)` also takes `python:MODULE:FUNCTION`, a rule-based reward: a function
`(prompts: list[str], responses: list[str]) -> list[float]` (RAFT's tests use an exactly computed one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lmbench.errors import CheckpointError, ConfigError

PAIR_FORMAT = "{prompt} {response}"


def reward_spec_problem(spec: str) -> str | None:
    """Why `spec` cannot be a reward (cheap: reads config.json only), or None. For recipe validation."""
    import json

    if spec.startswith("python:"):
        return None if ":" in spec.removeprefix("python:") else (
            f"reward_model {spec!r}: expected python:MODULE:FUNCTION")
    config = Path(spec).expanduser() / "config.json"
    if not config.is_file():
        return (f"reward_model {spec!r} is not a model folder with config.json; give a sequence-classification "
                "checkpoint (e.g. output_dir/final of `lmbench tune reward`) or python:MODULE:FUNCTION")
    data = json.loads(config.read_text(encoding="utf-8"))
    n = data.get("num_labels", len(data.get("id2label") or {}) or 2)
    if n != 1:
        return (f"reward_model {spec} has {n} outputs; a reward model needs a single-score head (num_labels=1), "
                "e.g. one trained by `lmbench tune reward`")
    return None


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
    """The reward model's fingerprint: the same one `lmbench eval RM --tasks pairs:...` and the reward recipe record
    (models/reward_loader.reward_identity_record), so retrained weights at the same path are a new model and a new
    cache key. A rule-based reward `python:MODULE:FUNCTION` is identified by that name."""
    if str(path).startswith("python:"):
        return str(path)
    from lmbench.models.fingerprint import fingerprint
    from lmbench.models.reward_loader import reward_identity_record

    return fingerprint(reward_identity_record(check_reward_model(path), max_length=max_length))


def pair_text(prompt: str, response: str) -> str:
    """The text a reward model scores for (prompt, response); training and scoring both use it."""
    return PAIR_FORMAT.format(prompt=prompt.rstrip(), response=response.strip())


class RewardScorer:
    def __init__(self, path: str | Path, *, device: str = "cpu", batch_size: int = 8, max_length: int = 512) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from lmbench.models.reward_loader import reward_max_length

        folder = check_reward_model(path)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        max_length = reward_max_length(folder, tokenizer, max_length)  # score as `lmbench tune reward` trained
        model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32).to(device).eval()
        self._setup(model, tokenizer, device=device, batch_size=batch_size, max_length=max_length, name=folder.name)
        self.path = folder

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, batch_size: int = 8, max_length: int = 512,
                   name: str = "in-memory") -> RewardScorer:
        """Score with a sequence-classification model already in memory (e.g. right after training)."""
        if model.config.num_labels != 1:
            raise ConfigError(f"reward model {name} has {model.config.num_labels} outputs; a reward model needs a "
                              "single-score head (num_labels=1)")
        self = cls.__new__(cls)
        self._setup(model, tokenizer, device=str(next(model.parameters()).device), batch_size=batch_size,
                    max_length=max_length, name=name)
        self.path = None
        return self

    def _setup(self, model: Any, tokenizer: Any, *, device: str, batch_size: int, max_length: int, name: str) -> None:
        self.tokenizer, self.model = tokenizer, model
        self.tokenizer.truncation_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.device = device
        self.batch_size = batch_size
        limits = [max_length, getattr(self.tokenizer, "model_max_length", None),
                  getattr(model.config, "max_position_embeddings", None)]
        self.max_length = min(int(x) for x in limits if isinstance(x, int) and x > 0)
        self.name = name

    @torch.no_grad()
    def score(self, prompts: list[str], responses: list[str]) -> list[float]:
        texts = [pair_text(p, r) for p, r in zip(prompts, responses)]
        was_training = self.model.training
        self.model.eval()
        scores: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(texts[start : start + self.batch_size], return_tensors="pt", padding=True,
                                   truncation=True, max_length=self.max_length).to(self.device)
            scores += self.model(**batch).logits[:, 0].float().tolist()
        self.model.train(was_training)
        return scores

    def describe(self) -> dict[str, Any]:
        return {"reward_model": self.name, "pair_format": PAIR_FORMAT, "max_length": self.max_length,
                "truncation": "left"}


class CallableReward:
    """A rule-based reward `python:MODULE:FUNCTION`: fn(prompts, responses) -> list[float]."""

    tokenizer = None

    def __init__(self, spec: str) -> None:
        import importlib

        target = spec.removeprefix("python:")
        module_name, _, attr = target.partition(":")
        try:
            fn = getattr(importlib.import_module(module_name), attr) if attr else None
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"reward {spec!r} cannot be imported ({exc}); expected python:MODULE:FUNCTION "
                              "with MODULE importable (on PYTHONPATH)") from None
        if not callable(fn):
            raise ConfigError(f"reward {spec!r} is not a function; expected python:MODULE:FUNCTION")
        self.fn, self.name, self.path = fn, target, None

    def score(self, prompts: list[str], responses: list[str]) -> list[float]:
        return [float(x) for x in self.fn(list(prompts), list(responses))]

    def describe(self) -> dict[str, Any]:
        return {"reward_model": f"python:{self.name}", "pair_format": "(prompt, response) passed to the function"}


def load_reward(spec: str, *, device: str = "cpu", batch_size: int = 8, max_length: int = 512) -> Any:
    """A reward model folder (RewardScorer) or a `python:MODULE:FUNCTION` rule (CallableReward)."""
    if spec.startswith("python:"):
        return CallableReward(spec)
    return RewardScorer(spec, device=device, batch_size=batch_size, max_length=max_length)


def score_pairs(scorer: Any, pairs: list[Any]) -> tuple[list[float], list[float]]:
    """Rewards of the chosen and the rejected side of each (prompt, chosen, rejected) pair."""
    prompts = [p.prompt for p in pairs]
    both = scorer.score(prompts + prompts, [p.chosen for p in pairs] + [p.rejected for p in pairs])
    return both[:len(pairs)], both[len(pairs):]
