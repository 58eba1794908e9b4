"""The `reward` recipe: preference pairs -> a one-output sequence-classification model in output_dir/final.

`model` is the backbone (`all-MiniLM-L6-v2` fetches the offline encoder; any checkpoint folder works, a
causal LM gets a fresh score head); `data` (and optional `eval_data`) are paired_conversation or
paired_text2text LMFlow datasets (HH-RLHF converts to them). Held-out pair accuracy (r_chosen >
r_rejected, with its bootstrap CI) is measured before and after training and logged to `train_log`
(step 0 and the last step), next to the trainer's loss. The saved folder loads with
`AutoModelForSequenceClassification`, plugs into `--reward-model` and `reward_model:` keys, and
`lmbench eval FOLDER --tasks pairs:FILE` measures it again.
"""

from __future__ import annotations

import json
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from lmbench.tuning.config import RecipeConfig


@dataclass
class RewardConfig(RecipeConfig):
    kind: str = "reward"
    model: str = "all-MiniLM-L6-v2"
    data: str = ""
    eval_data: Union[str, None] = None
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 2e-5
    head_learning_rate: Union[float, None] = 1e-3
    batch_size: int = 8
    max_length: int = 256
    logging_steps: int = 10
    progress: bool = True

    required_keys: typing.ClassVar[tuple[str, ...]] = ("output_dir", "data")
    non_training_keys: typing.ClassVar[tuple[str, ...]] = RecipeConfig.non_training_keys + ("progress",)

    def problems(self) -> list[str]:
        out = []
        for key in ("data", "eval_data"):
            value = getattr(self, key)
            if value and not Path(value).expanduser().exists():
                out.append(f"{key} {value!r} does not exist; give a paired LMFlow dataset file or folder")
        if self.max_length < 8 or self.batch_size < 1:
            out.append("max_length must be >= 8 and batch_size >= 1")
        return out


def _check_backbone(path: str) -> None:
    from transformers import AutoConfig

    from lmbench.errors import ConfigError

    config = AutoConfig.from_pretrained(path)
    heads = [a for a in (config.architectures or []) if a.endswith("ForSequenceClassification")]
    if heads and config.num_labels != 1:
        raise ConfigError(f"model {path} is a sequence classifier with {config.num_labels} outputs; a reward model "
                          "has one: start from a backbone (an encoder or causal LM) or a 1-output reward model")


def heldout_accuracy(scorer: Any, pairs: list) -> dict[str, Any]:
    from lmbench.engine.reward import score_pairs
    from lmbench.metrics.pairs import pair_rows, pair_scores

    chosen, rejected = score_pairs(scorer, pairs)
    return {r["metric"]: r for r in pair_rows("heldout", [pair_scores(c, x) for c, x in zip(chosen, rejected)])}


def run_reward(config: RewardConfig) -> Any:
    from lmbench.data.pairs import load_pairs
    from lmbench.store import Store
    from lmbench.tuning.encoders import resolve_backbone
    from lmbench.tuning.raft_record import Recorder, check_output_dir, register_folder

    started = time.perf_counter()
    out = check_output_dir(config)
    train, _ = load_pairs(config.data)
    held = load_pairs(config.eval_data)[0] if config.eval_data else []
    backbone = resolve_backbone(config.model)
    _check_backbone(backbone)
    base = None
    if Path(backbone).is_dir():
        from lmbench.paths import default_db_path

        with Store(Path(config.db).expanduser() if config.db else default_db_path()) as store:
            base = register_folder(store, Path(backbone), parent=None, relation="reward", detail={}, kind="reward")
    recorder = Recorder(config, relation="reward", base=base)
    with recorder.running():
        return _train(config, recorder, backbone, train, held, out, started)


def _train(config: RewardConfig, recorder: Any, backbone: str, train: list, held: list, out: Path,
           started: float) -> Any:
    import pandas as pd

    from lmbench.engine.reward import RewardScorer
    from lmbench.tuning.raft_record import save_checkpoint
    from lmbench.tuning.reward_model import load_backbone, train_reward_model

    model, tokenizer = load_backbone(backbone, seed=config.seed)
    scorer = RewardScorer.from_model(model, tokenizer, max_length=config.max_length, name="training")
    before = heldout_accuracy(scorer, held) if held else {}
    history = train_reward_model(model, tokenizer, train, output_dir=out / "trainer", epochs=config.epochs,
                                 max_steps=config.max_steps, learning_rate=config.learning_rate,
                                 head_learning_rate=config.head_learning_rate, batch_size=config.batch_size,
                                 max_length=config.max_length, seed=config.seed, logging_steps=config.logging_steps,
                                 progress=config.progress)
    after = heldout_accuracy(scorer, held) if held else {}
    final = save_checkpoint(model, tokenizer, out / "final")
    meta = {"recipe": "reward", "backbone": config.model, "pair_format": "lmbench.engine.reward.PAIR_FORMAT",
            "max_length": config.max_length, "truncation_side": "left", "train_pairs": len(train),
            "heldout_pairs": len(held), **{f"heldout_{k}_{when}": v["value"] for when, d in
                                          (("before", before), ("after", after)) for k, v in d.items()}}
    (final / "lmbench_reward.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    steps = [h for h in history if "loss" in h]
    rows = [{"step": int(h.get("step", i + 1)), "loss": h["loss"], "learning_rate": h.get("learning_rate"),
             "grad_norm": h.get("grad_norm"), "epoch": h.get("epoch"), "accuracy": h.get("accuracy")}
            for i, h in enumerate(steps)]
    last = max([r["step"] for r in rows], default=1)
    if before:
        rows.insert(0, {"step": 0, "heldout_pair_accuracy": before["pair_accuracy"]["value"]})
        rows.append({"step": last, "heldout_pair_accuracy": after["pair_accuracy"]["value"]})
    if rows:
        recorder.log_rows(pd.DataFrame(rows))
    fingerprint = recorder.register(final, parent=recorder.base, kind="reward", train_pairs=len(train)) \
        if recorder.base else _register_root(recorder, final)
    return recorder.finish({"final": str(final), "fingerprint": fingerprint, "train_pairs": len(train),
                            "heldout_before": before, "heldout_after": after, "global_step": last,
                            "wall_s": time.perf_counter() - started})


def _register_root(recorder: Any, final: Path) -> str:
    """A reward model whose backbone is not a local folder (a Hub id): registered without a lineage edge."""
    from lmbench.store import Store
    from lmbench.tuning.raft_record import register_folder

    with Store(recorder.db) as store:
        return register_folder(store, final, parent=None, relation="reward", detail={}, kind="reward")
