"""One RAFT iteration's two halves: collect (sample K, score, rank) and fine-tune on what was kept.

Collect: each prompt gets K responses from ONE shared prefill (`lmbench.engine.sample_k.generate_k`), with
the prompt's new-token budget drawn uniformly in [min_new_tokens, max_new_tokens] (LMFlow draws it per
generation batch) and seeds derived from (seed, iteration, prompt), so a rerun samples the same texts.
Fine-tune: each kept pair is the prompt's ids (label -100: not trained) followed by the response's ids as
they were sampled -- for a response ended by a stop string, its text re-encoded -- plus EOS when the
response ended by itself (EOS or stop string), so the policy also learns to stop; one transformers
`Trainer` run over them (the optimizer carried from the previous iteration or fresh, see `raft.py`).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from lmbench.engine.requests import GenerateRequest
from lmbench.tuning.raft_select import Candidate, discard_reason

IGNORE = -100


def collect(engine: Any, reward: Any, prompts: list[str], *, k: int, iteration: int, seed: int, temperature: float,
            top_p: float, min_new_tokens: int, max_new_tokens: int, stop: tuple[str, ...],
            discard_substrings: tuple[str, ...]) -> tuple[list[Candidate], list[Any]]:
    """Candidates (every generated response with its reward and discard reason) and the raw results."""
    from lmbench.engine.sample_k import generate_k

    rng = random.Random(f"{seed}:{iteration}")
    requests = []
    for i, prompt in enumerate(prompts):
        budget = rng.randint(min_new_tokens, max_new_tokens)
        requests.append(GenerateRequest(prompt, {"max_new_tokens": budget, "do_sample": True, "temperature": temperature,
                                                 "top_p": top_p, "top_k": 0, "stop": list(stop),
                                                 "seed": (seed * 1_000_003 + iteration * 10_007 + i) * k}))
    results = generate_k(engine, requests, k)
    flat = [(i, j, r) for i, rows in enumerate(results) for j, r in enumerate(rows)]
    rewards = reward.score([prompts[i] for i, _, _ in flat], [r.text for _, _, r in flat])
    candidates = [Candidate(i, j, prompts[i], r.text, float(x), discard_reason(r.text, substrings=discard_substrings))
                  for (i, j, r), x in zip(flat, rewards)]
    return candidates, [r for _, _, r in flat]


def encode_kept(engine: Any, kept: list[Candidate], results: dict[tuple[int, int], Any],
                max_length: int) -> list[dict[str, list[int]]]:
    """Training examples of the kept pairs, prompt tokens masked (see the module docstring)."""
    tokenizer = engine.tokenizer
    eos = tokenizer.eos_token_id
    examples = []
    for c in kept:
        result = results[(c.prompt_index, c.sample_index)]
        prompt_ids = engine.encode(c.prompt)
        if result.stopped_by == "stop":
            response = list(tokenizer(result.text, add_special_tokens=False)["input_ids"]) + [eos]
        else:
            response = list(result.token_ids)  # EOS included when it ended by EOS
        # too long: drop the prompt's oldest tokens, as generation cut it, so the sampled response is what is trained
        ids = (prompt_ids + response)[-max_length:]
        labels = ([IGNORE] * len(prompt_ids) + response)[-max_length:]
        if any(x != IGNORE for x in labels):
            examples.append({"input_ids": ids, "labels": labels, "attention_mask": [1] * len(ids)})
    return examples


class Collator:
    """Right-pads input_ids (pad id), labels (-100) and attention_mask (0) to the batch's longest example."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)

        def pad(key: str, value: int) -> Any:
            return torch.tensor([r[key] + [value] * (width - len(r[key])) for r in rows], dtype=torch.long)

        return {"input_ids": pad("input_ids", self.pad_id), "labels": pad("labels", IGNORE),
                "attention_mask": pad("attention_mask", 0)}


def fine_tune(model: Any, examples: list[dict[str, list[int]]], *, pad_id: int, output_dir: Path, epochs: float,
              learning_rate: float, batch_size: int, grad_accum: int, seed: int, optimizers: tuple[Any, Any],
              callbacks: list | None = None) -> list[dict[str, Any]]:
    """One Trainer run over `examples`; returns its log history. `optimizers` = (None, None) for a fresh one."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, Trainer, TrainingArguments

    args = TrainingArguments(output_dir=str(output_dir), num_train_epochs=epochs, learning_rate=learning_rate,
                             per_device_train_batch_size=batch_size, gradient_accumulation_steps=grad_accum,
                             seed=seed, data_seed=seed, logging_steps=1, save_strategy="no", report_to="none",
                             use_cpu=not torch.cuda.is_available(), lr_scheduler_type="constant", weight_decay=0.0,
                             warmup_steps=0, dataloader_num_workers=0, remove_unused_columns=False,
                             disable_tqdm=True, bf16=False, fp16=False)
    model.config.use_cache = False
    model.train()
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(examples), data_collator=Collator(pad_id),
                      optimizers=optimizers, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # logs go to the database, not stdout
    trainer.train()
    model.eval()
    model.config.use_cache = True
    return list(trainer.state.log_history)
