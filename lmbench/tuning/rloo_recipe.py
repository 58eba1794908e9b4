"""The `rloo` recipe: the online RL baseline, TRL's `RLOOTrainer`, with RAFT's reward and generation budget.

Why RLOO (REINFORCE Leave-One-Out, Ahmadian et al. 2024) rather than PPO or GRPO: it samples K
completions per prompt and uses the other K-1 rewards as each one's baseline, so with `k`,
`prompts_per_iteration` and `iterations` set as for RAFT it sees exactly RAFT's samples per step and in
total (iterations x prompts_per_iteration x k completions, one optimizer step per generation round); it
needs no value network (PPO in trl.experimental trains a value head and feeds the policy's token ids
straight to the reward model, so policy and reward model must share a tokenizer), and unlike GRPO it
does not divide advantages by the group's reward spread, which on a weak reward model amplifies noise.
The reward is called on text -- a folder through `RewardScorer`, or `python:MODULE:FUNCTION` -- so any
tokenizer works. Sampling as RAFT (temperature 0.85, top_p 1.0, no top-k), `max_new_tokens` completion
tokens; TRL's KL coefficient `beta` (0.05 default here). Start from the SFT checkpoint as for RAFT.
"""

from __future__ import annotations

import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from lmbench.tuning.config import RecipeConfig


@dataclass
class RlooConfig(RecipeConfig):
    kind: str = "rloo"
    reward_model: str = ""
    data: str = ""
    iterations: int = 3
    k: int = 4
    prompts_per_iteration: int = 32
    temperature: float = 0.85
    top_p: float = 1.0
    max_new_tokens: int = 48
    beta: float = 0.05
    learning_rate: float = 1e-6
    micro_batch: int = 4  # completions per forward/backward (rows per device batch); k must divide it
    device: str = "auto"
    eval_tasks: Union[str, None] = None
    eval_limit: Union[int, None] = None

    required_keys: typing.ClassVar[tuple[str, ...]] = ("output_dir", "reward_model", "data")
    non_training_keys: typing.ClassVar[tuple[str, ...]] = ("description", "output_dir", "db", "eval_tasks",
                                                           "eval_limit")

    def problems(self) -> list[str]:
        out = []
        if self.k < 2:
            out.append(f"k={self.k}; RLOO's leave-one-out baseline needs k >= 2 completions per prompt")
        elif self.micro_batch % self.k and self.k % self.micro_batch:
            out.append(f"micro_batch={self.micro_batch} and k={self.k}: one must divide the other")
        if self.data and not Path(self.data).expanduser().exists():
            out.append(f"data {self.data!r} does not exist; give an LMFlow dataset file or folder")
        if self.reward_model:
            from lmbench.engine.reward import reward_spec_problem

            problem = reward_spec_problem(self.reward_model)
            if problem:
                out.append(problem)
        return out


def reward_function(reward: Any) -> Any:
    """TRL's reward_funcs signature over lmbench's reward: fn(prompts, completions, **kwargs) -> floats."""
    def lmbench_reward(prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]:
        return reward.score(list(prompts), [str(c) for c in completions])

    return lmbench_reward


def run_rloo(config: RlooConfig) -> Any:
    from lmbench.data.lmflow import load_lmflow
    from lmbench.data.pairs import dataset_prompts
    from lmbench.engine.reward import load_reward
    from lmbench.models.loader import load_model
    from lmbench.tuning.raft_record import Recorder, check_output_dir

    started = time.perf_counter()
    out = check_output_dir(config)
    prompts = dataset_prompts(load_lmflow(config.data))
    loaded = load_model(config.model, device=config.device, dtype="float32")
    reward = load_reward(config.reward_model, device=str(loaded.device))
    recorder = Recorder(config, loaded, relation="rlhf")
    with recorder.running():
        return _train(config, recorder, loaded, reward, prompts, out, started)


def _train(config: RlooConfig, recorder: Any, loaded: Any, reward: Any, prompts: list[str], out: Path,
           started: float) -> Any:
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import RLOOConfig, RLOOTrainer

    from lmbench.tuning.callbacks import ProgressBar
    from lmbench.tuning.dpo_recipe import _log_history
    from lmbench.tuning.raft_record import save_checkpoint
    from lmbench.tuning.train import checkpointing_arguments

    model, tokenizer = loaded.model, loaded.tokenizer
    model.train()
    per_round = config.prompts_per_iteration * config.k
    micro = min(config.micro_batch, per_round)
    args = RLOOConfig(output_dir=str(out / "trainer"), num_generations=config.k, max_completion_length=config.max_new_tokens,
                      temperature=config.temperature, top_p=config.top_p, top_k=0, beta=config.beta,
                      learning_rate=config.learning_rate, per_device_train_batch_size=micro,
                      gradient_accumulation_steps=per_round // micro, steps_per_generation=per_round // micro,
                      num_iterations=1, max_steps=config.iterations, logging_steps=1, save_strategy="no",
                      report_to="none", seed=config.seed, data_seed=config.seed, disable_tqdm=True,
                      use_cpu=not torch.cuda.is_available(), bf16=False, fp16=False, dataloader_num_workers=0,
                      **checkpointing_arguments(RLOOConfig, False))
    trainer = RLOOTrainer(model=model, reward_funcs=[reward_function(reward)], args=args,
                          train_dataset=Dataset.from_dict({"prompt": prompts}), processing_class=tokenizer,
                          callbacks=[ProgressBar()])
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    model.eval()
    final = save_checkpoint(model, tokenizer, out / "final")
    _log_history(recorder, trainer.state.log_history)
    fp = recorder.register(final, parent=recorder.base, method="rloo", k=config.k)
    summary: dict[str, Any] = {"final": str(final), "fingerprint": fp, "global_step": trainer.state.global_step,
                               "wall_s": time.perf_counter() - started}
    if config.eval_tasks:
        summary["eval_run_ids"] = recorder.evaluate(final, 0)
    return recorder.finish(summary)
