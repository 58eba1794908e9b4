"""Trainer callbacks: tokens/s in every log, train_log rows to the database, and a progress bar (steps, loss, ETA)."""

from __future__ import annotations

import sys
import time
from typing import Any

from transformers import TrainerCallback

LOG_KEYS = ("loss", "learning_rate", "grad_norm", "tokens_per_s", "epoch", "num_input_tokens_seen")


class TokensPerSecond(TrainerCallback):
    """Adds `tokens_per_s` (non-padding input tokens per second since the previous log) to each log."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._last = (time.perf_counter(), state.num_input_tokens_seen)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs is None or "loss" not in logs or self._last is None:
            return
        now, seen = time.perf_counter(), state.num_input_tokens_seen
        elapsed = now - self._last[0]
        if elapsed > 0:
            logs["tokens_per_s"] = (seen - self._last[1]) / elapsed
        self._last = (now, seen)


class TrainLogToStore(TrainerCallback):
    """Buffers every training log row and writes it to `train_log` (at each save, every `every` rows, at the end)."""

    def __init__(self, db: str, training_run_id: str, every: int = 20) -> None:
        self.db, self.run_id, self.every = db, training_run_id, every
        self.rows: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return
        row = {"step": state.global_step, **{k: float(logs[k]) for k in LOG_KEYS if k in logs}}
        self.rows.append(row)
        self.history.append(row)
        if len(self.rows) >= self.every:
            self.flush()

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.flush()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        import pandas as pd

        from lmbench.store import Store

        with Store(self.db) as store:
            store.log_train(self.run_id, pd.DataFrame(self.rows))
        self.rows = []


class ProgressBar(TrainerCallback):
    """One tqdm bar over optimizer steps, with the latest loss and learning rate (replaces the Trainer's bar)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", unit="step",
                        file=sys.stderr, dynamic_ncols=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if self.bar is not None and logs and "loss" in logs:
            post = {"loss": f"{logs['loss']:.4f}"}
            if "learning_rate" in logs:
                post["lr"] = f"{logs['learning_rate']:.2e}"
            if "tokens_per_s" in logs:
                post["tok/s"] = f"{logs['tokens_per_s']:.0f}"
            self.bar.set_postfix(post, refresh=False)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
