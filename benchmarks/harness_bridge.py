"""A harness task through lmbench's bridge (`lmbench eval --tasks lm_eval:NAME`) vs the plain harness (HFLM).

Both sides run the harness's own built-in task YAML (default `mmlu_anatomy`, 5-shot, `first_n`
shots from dev) on the same local copy of its data, written here from ../shared/data's MMLU CSVs
in the Hub schema of `cais/mmlu` (DATA/hf/cais/mmlu/<subject>/{test,dev}.jsonl: question, subject,
choices, answer). Timed: each side's evaluation wall time, model load excluded for both. Prints the
time ratio, the largest per-request |log-likelihood difference| and whether every metric agrees.

    python benchmarks/harness_bridge.py                          # SmolLM2-135M-Instruct, mmlu_anatomy
    python benchmarks/harness_bridge.py --tasks mmlu_anatomy,mmlu_college_biology --limit 50
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_mmlu_copy(shared: Path, out: Path, subjects: list[str]) -> None:
    """DATA/hf/cais/mmlu/<subject>/<split>.jsonl from the MMLU release CSVs (validation = dev: unused at 5-shot)."""
    from lmbench.parity.harness_reference import mmlu_rows

    for subject in subjects:
        folder = out / "hf" / "cais" / "mmlu" / subject
        folder.mkdir(parents=True, exist_ok=True)
        for split, source in (("test", "test"), ("dev", "dev"), ("validation", "dev")):
            rows = mmlu_rows(shared / "mmlu" / source / f"{subject}_{source}.csv", subject)
            with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row) + "\n" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="HF model folder (default: built-in SmolLM2-135M-Instruct)")
    parser.add_argument("--tasks", default="mmlu_anatomy", help="harness MMLU subject tasks, comma-separated")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--shots", type=int, default=5, help="num_fewshot on both sides (the harness YAML says 0)")
    parser.add_argument("--batch-size", default="8", help="HFLM batch size (lmbench uses auto)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = parser.parse_args()

    from lm_eval import simple_evaluate

    from lmbench.harness.task import load_harness
    from lmbench.models.default_model import default_model_dir
    from lmbench.parity.harness_reference import load_hflm
    from lmbench.runner import EvalConfig, evaluate
    from lmbench.verbosity import quiet_libraries

    quiet_libraries()
    model = args.model or str(default_model_dir())
    names = args.tasks.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_mmlu_copy(Path(args.data_dir), data, [n.removeprefix("mmlu_") for n in names])
        ours = evaluate(EvalConfig(checkpoint=model, tasks=",".join(f"lm_eval:{n}" for n in names), limit=args.limit, shots=args.shots,
                                   data_dir=str(data), db=str(Path(tmp) / "bench.duckdb")))
        ours_s = ours.timings["prepare_s"] + ours.timings["score_s"]
        lm = load_hflm(model, batch_size=int(args.batch_size), dtype="float32", device="cpu")
        start = time.perf_counter()
        tasks = [t for n in names for t in load_harness(n, data, ())[0].values()]  # same local copy, same YAML
        ref = simple_evaluate(model=lm, tasks=tasks, limit=args.limit, num_fewshot=args.shots, log_samples=True,
                              bootstrap_iters=0)
        theirs_s = time.perf_counter() - start
    worst, agree, n = 0.0, True, 0
    ours_by_doc = ours.samples.set_index(["task", "doc_id"])
    for name in names:
        for sample in ref["samples"][name]:
            row = ours_by_doc.loc[(f"lm_eval:{name}", str(sample["doc_id"]))]
            worst = max(worst, *(abs(a - float(r[0])) for a, r in zip(row["logprobs"], sample["filtered_resps"])))
            agree &= all(row["metrics"][m] == sample[m] for m in sample["metrics"])
            n += 1
    acc_ours = ours.results[(ours.results["task"] == f"lm_eval:{names[0]}") & (ours.results["metric"] == "acc")]
    print(f"\n{n} questions ({args.tasks}, {args.shots}-shot), model {Path(model).name}\n")
    print("| tool | wall s | questions/s |")
    print("|---|---|---|")
    print(f"| lmbench bridge (lmbench eval --tasks lm_eval:...) | {ours_s:.1f} | {n / ours_s:.2f} |")
    print(f"| lm-eval {__import__('lm_eval').__version__} HFLM (batch {args.batch_size}) | {theirs_s:.1f} | "
          f"{n / theirs_s:.2f} |")
    print(f"\nspeed-up (harness time / bridge time): {theirs_s / ours_s:.2f}x")
    print(f"largest |log-likelihood difference|: {worst:.2e}; every per-sample metric identical: {agree}; "
          f"acc {acc_ours['value'].item():.4f}")


if __name__ == "__main__":
    main()
