"""Samples written per second: lmbench's Store (one DataFrame per batch) vs a row-by-row INSERT baseline.

Both write the same synthetic MMLU-like sample rows (a ~1 KB prompt, four log-probabilities, a metrics dict)
into the same schema in fresh DuckDB files, in this one process. Target: >= 20x.

    python benchmarks/store_write.py [--rows 20000] [--baseline-rows 2000] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

from lmbench.store import Store


def make_rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    words = "the heart pumps blood through arteries and veins while the lungs exchange oxygen".split()
    rows = []
    for i in range(n):
        prompt = " ".join(rng.choice(words) for _ in range(180))
        logprobs = [rng.uniform(-12, -0.1) for _ in range(4)]
        rows.append({"task": "mmlu_anatomy", "task_hash": "t" * 16, "doc_id": str(i), "doc_hash": f"{i:016x}",
                     "prompt": prompt, "target": "A", "prediction": "ABCD"[logprobs.index(max(logprobs))],
                     "choices": ["A", "B", "C", "D"], "logprobs": logprobs,
                     "metrics": {"acc": float(rng.random() < 0.5), "acc_norm": float(rng.random() < 0.5)},
                     "flagged": False})
    return pd.DataFrame(rows)


def _new_run(path: Path) -> tuple[Store, str]:
    store = Store(path)
    store.upsert_model(fingerprint="f" * 16, name="bench", source="bench", kind="hf_dir", revision=None,
                       dtype="float32", n_params=0, base_model=None, lineage={}, identity={})
    return store, store.start_run(model_fingerprint="f" * 16, config={}, seed=0, device="cpu", versions={},
                                  git_sha=None, command="benchmark")


def store_rate(frame: pd.DataFrame, batch: int, folder: Path) -> float:
    store, run_id = _new_run(folder / "store.duckdb")
    start = time.perf_counter()
    for i in range(0, len(frame), batch):
        store.write_samples(run_id, frame.iloc[i : i + batch])
    elapsed = time.perf_counter() - start
    store.close()
    return len(frame) / elapsed


def row_by_row_rate(frame: pd.DataFrame, folder: Path) -> float:
    store, run_id = _new_run(folder / "rows.duckdb")
    con = store.con
    start = time.perf_counter()
    for row in frame.itertuples(index=False):
        con.execute(
            "INSERT INTO samples (run_id, task, task_hash, doc_id, doc_hash, prompt, target, prediction, choices, "
            "logprobs, metrics, flagged, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            [run_id, row.task, row.task_hash, row.doc_id, row.doc_hash, row.prompt, row.target, row.prediction,
             json.dumps(row.choices), json.dumps(row.logprobs), json.dumps(row.metrics), row.flagged])
    elapsed = time.perf_counter() - start
    store.close()
    return len(frame) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000, help="row-by-row is slow: fewer rows suffice")
    parser.add_argument("--batches", default="64,256,1024,0",
                        help="rows per Store.write_samples call to try (0: all rows in one call); the runner "
                             "writes every --write-every (64) questions")
    args = parser.parse_args()
    frame = make_rows(args.rows)
    batches = [int(b) or len(frame) for b in args.batches.split(",")]
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        baseline = row_by_row_rate(frame.head(args.baseline_rows), Path(tmp))
        for batch in batches:
            folder = Path(tmp) / f"b{batch}"
            folder.mkdir()
            rates[batch] = store_rate(frame, batch, folder)
    print("| method | rows | samples/s | ratio |\n|---|---|---|---|")
    print(f"| row-by-row INSERT (one transaction per row) | {args.baseline_rows} | {baseline:,.0f} | 1.0x |")
    for batch, rate in rates.items():
        print(f"| Store.write_samples, {batch} rows per call | {args.rows} | {rate:,.0f} | {rate / baseline:.1f}x |")
    print(f"\nbest speed-up {max(rates.values()) / baseline:.1f}x (target >= 20x); each call costs a transaction "
          f"(~{1000 * 64 / rates.get(64, float('nan')):.0f} ms at 64 rows), so larger writes approach the bulk rate")


if __name__ == "__main__":
    main()
