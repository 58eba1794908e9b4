"""Reward modelling: a sequence-classification model with ONE output trained on preference pairs with TRL's
`RewardTrainer`, whose loss is the Bradley-Terry -log sigmoid(r_chosen - r_rejected).

Each side is pre-tokenized here as the scorer sees it (`lmbench.engine.reward.pair_text(prompt, response)`,
special tokens added, truncated from the LEFT to `max_length` so the final reply -- where chosen and
rejected differ -- is always kept), so TRL trains on exactly the text `RewardScorer` scores later. An
optional higher learning rate for the freshly initialised head (`head_learning_rate`) is one AdamW param
group, handed to the trainer through its `optimizers` argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmbench.data.pairs import Pair
from lmbench.engine.reward import pair_text

HEAD_PREFIXES = ("classifier", "score", "pre_classifier")


def load_backbone(path: str | Path, *, seed: int = 0) -> tuple[Any, Any]:
    """Any checkpoint as AutoModelForSequenceClassification with num_labels=1 (a new head if it has none)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    tokenizer.truncation_side = "left"
    return model, tokenizer


def encode_pairs(tokenizer: Any, pairs: list[Pair], max_length: int) -> Any:
    """datasets.Dataset of chosen_ids / rejected_ids (TRL's pre-tokenized preference columns)."""
    from datasets import Dataset

    tokenizer.truncation_side = "left"

    def ids(prompt: str, response: str) -> list[int]:
        return list(tokenizer(pair_text(prompt, response), truncation=True, max_length=max_length)["input_ids"])

    return Dataset.from_dict({"chosen_ids": [ids(p.prompt, p.chosen) for p in pairs],
                              "rejected_ids": [ids(p.prompt, p.rejected) for p in pairs]})


def train_reward_model(model: Any, tokenizer: Any, pairs: list[Pair], *, output_dir: Path, epochs: float = 1.0,
                       max_steps: int = -1, learning_rate: float = 2e-5, head_learning_rate: float | None = None,
                       batch_size: int = 8, max_length: int = 256, seed: int = 0, logging_steps: int = 10,
                       callbacks: list | None = None, report_to: str = "none",
                       progress: bool = True) -> list[dict[str, Any]]:
    """Train in place with TRL RewardTrainer; returns the trainer's log history (one dict per logged step)."""
    import torch
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import RewardConfig, RewardTrainer

    from lmbench.tuning.callbacks import ProgressBar
    from lmbench.tuning.train import checkpointing_arguments

    head = [p for n, p in model.named_parameters() if n.startswith(HEAD_PREFIXES)]
    body = [p for n, p in model.named_parameters() if not n.startswith(HEAD_PREFIXES)]
    optimizer = torch.optim.AdamW([{"params": body, "lr": learning_rate},
                                   {"params": head, "lr": head_learning_rate or learning_rate}], weight_decay=0.0)
    args = RewardConfig(output_dir=str(output_dir), num_train_epochs=epochs, max_steps=max_steps,
                        learning_rate=learning_rate, per_device_train_batch_size=batch_size, seed=seed,
                        data_seed=seed, logging_steps=logging_steps, save_strategy="no", report_to=report_to,
                        use_cpu=not torch.cuda.is_available(), max_length=None, disable_dropout=True,
                        lr_scheduler_type="constant", dataloader_num_workers=0,
                        bf16=False, fp16=False, disable_tqdm=True, **checkpointing_arguments(RewardConfig, False))
    ours = [ProgressBar()] if progress else []
    trainer = RewardTrainer(model=model, args=args, train_dataset=encode_pairs(tokenizer, pairs, max_length),
                            processing_class=tokenizer, callbacks=ours + list(callbacks or []),
                            optimizers=(optimizer, None))
    for default in (PrinterCallback, ProgressCallback):  # one bar (steps, loss, ETA) instead of printed dicts
        trainer.remove_callback(default)
    trainer.train()
    model.eval()
    return list(trainer.state.log_history)
