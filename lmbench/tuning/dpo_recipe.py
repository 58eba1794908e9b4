"""The `dpo` recipe: TRL's `DPOTrainer` on the same preference pairs the reward model learns from.

Pairs (paired_conversation / paired_text2text) become TRL's standard non-conversational rows
{"prompt", "chosen", "rejected"}: the prompt in the HH dialogue format of `lmbench.data.pairs` (ending
"\\n\\nAssistant:") and each reply with one leading space, the way the `hh_rlhf_*` tasks' answers follow
their prompts. The reference model is the starting policy (TRL's default copy) unless `ref_model` is
given; a reference must share the policy's tokenizer (DPO compares the two models' log-probabilities
of the same token ids). As in the paper's pipeline (LLaMA -> SFT -> PPO/RAFT), start from an SFT
checkpoint: `model: runs/sft/final`. The candidate is saved to output_dir/final with lineage `dpo`.
"""

from __future__ import annotations

import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from lmbench.tuning.config import RecipeConfig


@dataclass
class DpoConfig(RecipeConfig):
    kind: str = "dpo"
    data: str = ""
    ref_model: Union[str, None] = None
    beta: float = 0.1
    loss_type: str = "sigmoid"
    learning_rate: float = 1e-6
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 512
    logging_steps: int = 5
    device: str = "auto"
    eval_tasks: Union[str, None] = None
    eval_limit: Union[int, None] = None
    reward_model: Union[str, None] = None  # only for eval_tasks that report reward

    required_keys: typing.ClassVar[tuple[str, ...]] = ("output_dir", "data")
    non_training_keys: typing.ClassVar[tuple[str, ...]] = ("description", "output_dir", "db", "eval_tasks",
                                                           "eval_limit", "reward_model")

    def problems(self) -> list[str]:
        out = []
        if self.data and not Path(self.data).expanduser().exists():
            out.append(f"data {self.data!r} does not exist; give a paired LMFlow dataset file or folder")
        if self.beta <= 0:
            out.append(f"beta={self.beta}; expected a number > 0 (TRL's default is 0.1)")
        return out


def check_same_tokenizer(policy_tok: Any, other_tok: Any, what: str, fix: str) -> None:
    """A one-line error when two tokenizers would give different ids for the same text."""
    from lmbench.errors import ConfigError

    probe = "Hello, world! The heart pumps 12 litres."
    if policy_tok.get_vocab() != other_tok.get_vocab() or policy_tok(probe)["input_ids"] != other_tok(probe)["input_ids"]:
        raise ConfigError(f"{what} has a different tokenizer from the policy (vocab {len(other_tok)} vs "
                          f"{len(policy_tok)}); {fix}")


def dpo_rows(pairs: list) -> Any:
    from datasets import Dataset

    return Dataset.from_dict({"prompt": [p.prompt for p in pairs], "chosen": [" " + p.chosen.strip() for p in pairs],
                              "rejected": [" " + p.rejected.strip() for p in pairs]})


def run_dpo(config: DpoConfig) -> Any:
    from lmbench.data.pairs import load_pairs
    from lmbench.models.loader import load_model
    from lmbench.tuning.raft_record import Recorder, check_output_dir, save_checkpoint

    started = time.perf_counter()
    out = check_output_dir(config)
    pairs, _ = load_pairs(config.data)
    loaded = load_model(config.model, device=config.device, dtype="float32")
    ref = None
    if config.ref_model:
        ref_loaded = load_model(config.ref_model, device=config.device, dtype="float32")
        check_same_tokenizer(loaded.tokenizer, ref_loaded.tokenizer, f"ref_model {config.ref_model}",
                             "give a reference model from the policy's family (e.g. the SFT base) or leave ref_model out")
        ref = ref_loaded.model
    recorder = Recorder(config, loaded, relation="dpo")
    with recorder.running():
        return _train(config, recorder, loaded, ref, pairs, out, started)


def _train(config: DpoConfig, recorder: Any, loaded: Any, ref: Any, pairs: list, out: Path, started: float) -> Any:
    import torch
    from transformers import PrinterCallback
    from trl import DPOConfig as TrlDPOConfig
    from trl import DPOTrainer

    from lmbench.tuning.callbacks import ProgressBar
    from lmbench.tuning.raft_record import save_checkpoint
    from lmbench.tuning.train import checkpointing_arguments

    model, tokenizer = loaded.model, loaded.tokenizer
    model.train()
    args = TrlDPOConfig(output_dir=str(out / "trainer"), beta=config.beta, loss_type=[config.loss_type],
                        learning_rate=config.learning_rate, num_train_epochs=config.epochs, max_steps=config.max_steps,
                        per_device_train_batch_size=config.batch_size, gradient_accumulation_steps=config.grad_accum,
                        max_length=config.max_length, logging_steps=config.logging_steps, save_strategy="no",
                        report_to="none", seed=config.seed, data_seed=config.seed, disable_tqdm=True,
                        use_cpu=not torch.cuda.is_available(), bf16=False, fp16=False, dataloader_num_workers=0,
                        **checkpointing_arguments(TrlDPOConfig, False))
    trainer = DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=dpo_rows(pairs),
                         processing_class=tokenizer, callbacks=[ProgressBar()])
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    model.eval()
    final = save_checkpoint(model, tokenizer, out / "final")
    _log_history(recorder, trainer.state.log_history)
    fp = recorder.register(final, parent=recorder.base, pairs=len(pairs), beta=config.beta)
    summary: dict[str, Any] = {"final": str(final), "fingerprint": fp, "pairs": len(pairs),
                               "global_step": trainer.state.global_step, "wall_s": time.perf_counter() - started}
    if config.eval_tasks:
        summary["eval_run_ids"] = recorder.evaluate(final, 0)
    return recorder.finish(summary)


def _log_history(recorder: Any, history: list[dict[str, Any]]) -> None:
    import pandas as pd

    rows = [{"step": int(h["step"]), **{k: float(v) for k, v in h.items()
                                        if k != "step" and isinstance(v, (int, float))}}
            for h in history if "loss" in h and "step" in h]
    if rows:
        recorder.log_rows(pd.DataFrame(rows))
