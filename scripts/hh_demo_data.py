"""Split HH-RLHF helpful-base TEST rows for the alignment demo (the only HH files here are test splits).

Rows [0, 1177) are the "train" side, rows [1177, 2354) the held-out side. Writes into OUT:
  train_pairs.json / heldout_pairs.json   paired_conversation (reward model, DPO, pair accuracy)
  train_chosen.json                       conversation, the chosen dialogues (SFT; RAFT prompts)
  select_pairs.json                       the LAST SELECT held-out rows as pairs: RAFT's early-stopping prompts,
                                          apart from the first held-out rows that `--limit N` evaluates
  heldout/hh-rlhf/helpful-base/test.jsonl.gz   the held-out rows as a data folder for `--data-dir`,
                                          so `--tasks hh_rlhf_helpful` evaluates on rows >= 1177 only.

    python scripts/hh_demo_data.py OUT [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from pathlib import Path

SPLIT = 1177
SELECT = 200  # held-out rows kept for model selection, from the end (evaluation takes the first rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    from lmbench.data.convert import hh_rlhf_conversations, hh_rlhf_pairs, save_lmflow
    from lmbench.data.readers import read_jsonl

    rows = list(read_jsonl(args.data / "hh-rlhf" / "helpful-base" / "test.jsonl.gz"))
    args.out.mkdir(parents=True, exist_ok=True)
    held_dir = args.out / "heldout" / "hh-rlhf" / "helpful-base"
    held_dir.mkdir(parents=True, exist_ok=True)
    with gzip.open(held_dir / "test.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows[SPLIT:])
    with tempfile.TemporaryDirectory() as tmp:
        for side, part in (("train", rows[:SPLIT]), ("heldout", rows[SPLIT:]), ("select", rows[-SELECT:])):
            src = Path(tmp) / f"{side}.jsonl"
            src.write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
            pairs = hh_rlhf_pairs(src)
            save_lmflow(pairs, args.out / f"{side}_pairs.json")
            print(f"{side}: {len(part)} rows -> {len(pairs)} pairs ({pairs.skipped} skipped)")
            if side == "train":
                chosen = hh_rlhf_conversations(src, field="chosen")
                save_lmflow(chosen, args.out / "train_chosen.json")
                print(f"train: {len(chosen)} chosen conversations")


if __name__ == "__main__":
    main()
