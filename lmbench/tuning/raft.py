"""RAFT (reward-ranked fine-tuning, Dong et al. 2023), faithful to LMFlow's `raft_aligner`.

Prompts (`data`: conversation -> every turn before the last reply, text2text -> the input, paired -> the
prompt) are shuffled once with `seed`; iteration i takes the next `prompts_per_iteration` of them (LMFlow
takes `raft_batch_size` per iteration the same way; past the end the order wraps around). Per iteration:
1. collect: K responses per prompt from the current policy (one shared prefill per prompt), temperature
   0.85, top_p 1.0, top_k off, new-token budget drawn in [min_new_tokens, max_new_tokens] (LMFlow's
   defaults), each scored by the reward model;
2. rank: `local` keeps each prompt's best of K (needs K >= 2), `top` the global best `top_fraction` of
   all responses (K = 1 with `top` is LMFlow's top strategy exactly); empty, short, '#'-containing and
   degenerate responses are discarded first (lmbench.tuning.raft_select);
3. fine-tune on the kept (prompt, response) pairs with the prompt tokens masked (LMFlow trains the whole
   text; masking is what the RAFT paper's SFT step does), `epochs` passes of a transformers Trainer.
   `optimizer_state: carry` (default, as LMFlow: one AdamW whose state and constant learning rate go on
   across iterations) or `reset` (a fresh optimizer every iteration);
4. save the checkpoint to output_dir/iter-N (safetensors), register it with lineage (relation `raft`,
   detail: iteration, kept-set hash, recipe hash) and evaluate it on held-out prompts: greedy answers to
   `eval_data` prompts scored by the same reward (`heldout_reward`) and, with `eval_tasks`, the tasks
   through lmbench's evaluation (the hh_rlhf_* tasks give reward, diversity and perplexity).
Every iteration's figures go to `train_log` (step = iteration): reward_mean_all, reward_mean_kept,
n_generated, n_kept, n_discarded, train_loss, heldout_reward; the kept sets' hashes go to the training
run's timings record. `early_stop: true` keeps the iteration (the base counts as iteration 0) with the
best held-out reward as output_dir/final; false keeps the last.
"""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path
from typing import Any

from lmbench.tuning.raft_config import RaftConfig


def _prompt_batches(prompts: list[str], per: int, iterations: int, seed: int) -> list[list[str]]:
    order = list(range(len(prompts)))
    random.Random(seed).shuffle(order)
    return [[prompts[order[(i * per + j) % len(order)]] for j in range(per)] for i in range(iterations)]


def heldout_reward(engine: Any, reward: Any, prompts: list[str], config: RaftConfig) -> float:
    """Mean reward of greedy answers to the held-out prompts (max_new_tokens, same stop strings)."""
    from lmbench.engine.requests import GenerateRequest

    results = engine.run([GenerateRequest(p, {"max_new_tokens": config.max_new_tokens, "stop": list(config.stop)})
                          for p in prompts])
    scores = reward.score(prompts, [r.text for r in results])
    return float(sum(scores) / len(scores))


def run_raft(config: RaftConfig) -> Any:
    """Run the recipe (see the module docstring); returns a summary with the final candidate's path."""
    import torch

    from lmbench.data.lmflow import load_lmflow
    from lmbench.data.pairs import dataset_prompts
    from lmbench.engine.reward import load_reward
    from lmbench.models.loader import load_model
    from lmbench.tuning import raft_record

    started = time.perf_counter()
    out = raft_record.check_output_dir(config)
    torch.manual_seed(config.seed)
    prompts = dataset_prompts(load_lmflow(config.data))
    heldout = dataset_prompts(load_lmflow(config.eval_data))[: config.eval_prompts] if config.eval_data else []
    loaded = load_model(config.model, device=config.device, dtype="float32")
    reward = load_reward(config.reward_model, device=str(loaded.device))
    recorder = raft_record.Recorder(config, loaded)
    with recorder.running():
        return _loop(config, recorder, loaded, reward, prompts, heldout, out, started)


def _loop(config: RaftConfig, recorder: Any, loaded: Any, reward: Any, prompts: list[str], heldout: list[str],
          out: Path, started: float) -> Any:
    import torch

    from lmbench.engine.generate import GenerationEngine
    from lmbench.tuning import raft_record
    from lmbench.tuning.raft_select import kept_hash, select_local, select_top
    from lmbench.tuning.raft_steps import collect, encode_kept, fine_tune

    model, tokenizer = loaded.model, loaded.tokenizer
    engine = GenerationEngine(model, tokenizer, loaded.max_length, batch_size=config.gen_batch_size, progress=False)
    optimizer = None
    if config.optimizer_state == "carry":
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
        optimizers: tuple[Any, Any] = (optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0))
    history: list[dict[str, Any]] = []
    scores = {0: heldout_reward(engine, reward, heldout, config)} if heldout else {}
    if scores:
        recorder.log({"step": 0, "heldout_reward": scores[0]})
    checkpoints: dict[int, Path] = {0: loaded.info.folder}
    fingerprints = {0: loaded.fingerprint}
    for iteration, batch in enumerate(_prompt_batches(prompts, config.prompts_per_iteration, config.iterations,
                                                      config.seed), start=1):
        t0 = time.perf_counter()
        candidates, results = collect(engine, reward, batch, k=config.k, iteration=iteration, seed=config.seed,
                                      temperature=config.temperature, top_p=config.top_p,
                                      min_new_tokens=config.min_new_tokens, max_new_tokens=config.max_new_tokens,
                                      stop=tuple(config.stop), discard_substrings=tuple(config.discard_substrings))
        kept = select_local(candidates) if config.strategy == "local" else select_top(candidates, config.top_fraction)
        by_key = {(c.prompt_index, c.sample_index): r for c, r in zip(candidates, results)}
        examples = encode_kept(engine, kept, by_key, loaded.max_length)
        t1 = time.perf_counter()
        logs = fine_tune(model, examples, pad_id=engine.pad_id, output_dir=out / "trainer", epochs=config.epochs,
                         learning_rate=config.learning_rate, batch_size=config.batch_size,
                         grad_accum=config.grad_accum, seed=config.seed + iteration,
                         optimizers=optimizers if optimizer is not None else (None, None)) if examples else []
        t2 = time.perf_counter()
        folder = raft_record.save_checkpoint(model, tokenizer, out / f"iter-{iteration}")
        row: dict[str, Any] = {
            "step": iteration, "reward_mean_all": sum(c.reward for c in candidates) / len(candidates),
            "reward_mean_kept": sum(c.reward for c in kept) / len(kept) if kept else None,
            "n_generated": len(candidates), "n_kept": len(kept),
            "n_discarded": sum(c.discarded is not None for c in candidates),
            "train_loss": next((h["train_loss"] for h in reversed(logs) if "train_loss" in h), None),
            "collect_s": t1 - t0, "train_s": t2 - t1, "kept_hash": kept_hash(kept),
        }
        fingerprints[iteration] = recorder.register(folder, parent=fingerprints[iteration - 1], iteration=iteration,
                                                    kept=row["kept_hash"])
        checkpoints[iteration] = folder
        if heldout:
            scores[iteration] = row["heldout_reward"] = heldout_reward(engine, reward, heldout, config)
        if config.eval_tasks:
            row["eval_run_ids"] = recorder.evaluate(folder, iteration)
        recorder.log(row)
        history.append(row)
    best = max(scores, key=lambda i: (scores[i], i)) if config.early_stop and scores else config.iterations
    final = out / "final"
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(checkpoints[best], final, ignore=shutil.ignore_patterns("lmbench_complete.json"))
    if best:  # the final copy: its fingerprint is the best iteration's; its name ("raft") becomes an alias
        recorder.register(final, parent=fingerprints[best - 1], iteration=best,
                          kept=history[best - 1]["kept_hash"])
    _reward_curve(history, scores, out / "reward_curve.png")
    summary = {"final": str(final), "best_iteration": best, "fingerprint": fingerprints[best],
               "heldout_reward": scores, "iterations": history, "wall_s": time.perf_counter() - started}
    return recorder.finish(summary)


def _reward_curve(history: list[dict[str, Any]], scores: dict[int, float], path: Path) -> None:
    """output_dir/reward_curve.png: mean reward of all samples, of the kept ones and held-out, per iteration
    (LMFlow's raft_aligner draws the first two as training_reward.png)."""
    from lmbench.leaderboards.curves import REWARDS
    from lmbench.leaderboards.plots import curve_figure, save_png

    steps = sorted({0, *scores, *(row["step"] for row in history)})
    by_step = {row["step"]: row for row in history}
    series = {REWARDS[m]: [by_step.get(s, {}).get(m) for s in steps] for m in ("reward_mean_all", "reward_mean_kept")}
    series[REWARDS["heldout_reward"]] = [scores.get(s) for s in steps]
    save_png(curve_figure(steps, series, title="RAFT reward per iteration", xlabel="iteration (0 = start)",
                          ylabel="mean reward"), path)
