"""lmbench vs lm-evaluation-harness on the same model, tasks, prompts and limit.

Both tools run in this one process, one after the other, on the same local
data; each side's time is its scoring wall time (prompt building + forward
passes, not the model load, which both share). Prints a table with the
wall-time ratio and the largest per-choice |log-likelihood difference|.

    python benchmarks/eval_vs_lm_eval.py                        # SmolLM2, 6 medical MMLU subjects x 20, 5-shot
    python benchmarks/eval_vs_lm_eval.py --tasks pubmedqa --limit 100
    python benchmarks/eval_vs_lm_eval.py --model path/to/hf_folder --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MEDICAL = "mmlu_anatomy,mmlu_clinical_knowledge,mmlu_college_biology,mmlu_college_medicine,mmlu_medical_genetics,mmlu_professional_medicine"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="HF model folder (default: built-in SmolLM2-135M-Instruct)")
    parser.add_argument("--tasks", default=MEDICAL)
    parser.add_argument("--shots", type=int, default=None, help="default: the task's own (MMLU 5, others 0)")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--batch-size", default="8", help="lm-eval batch size (lmbench uses auto)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = parser.parse_args()

    from lmbench.models.default_model import default_model_dir
    from lmbench.parity.harness_reference import run_harness
    from lmbench.runner import EvalConfig, evaluate
    from lmbench.verbosity import quiet_libraries

    quiet_libraries()
    model = args.model or str(default_model_dir())
    with tempfile.TemporaryDirectory() as tmp:
        ours = evaluate(EvalConfig(checkpoint=model, tasks=args.tasks, shots=args.shots, limit=args.limit,
                                   data_dir=args.data_dir, db=str(Path(tmp) / "bench.duckdb")))
    ours_s = ours.timings["prepare_s"] + ours.timings["score_s"]
    theirs_s, worst, same, n, correct = 0.0, 0.0, 0, 0, [0, 0]
    for task in args.tasks.split(","):
        shots = args.shots if args.shots is not None else (5 if task.startswith("mmlu_") else 0)
        ref = run_harness(model, task, args.data_dir, shots=shots, limit=args.limit, batch_size=int(args.batch_size))
        theirs_s += ref.wall_s
        rows = ours.samples[ours.samples["task"] == task].reset_index(drop=True)
        for sample, (_, row) in zip(ref.samples, rows.iterrows()):
            worst = max(worst, *(abs(a - b) for a, b in zip(row["logprobs"], sample.loglikelihoods)))
            same += row["prediction"] == row["choices"][sample.pred]
            correct[0] += row["metrics"]["acc"]
            correct[1] += sample.pred == sample.gold
            n += 1
    print(f"\nmodel {model}\ntasks {args.tasks} (limit {args.limit}, {n} questions)\n")
    print(f"| tool | wall s | questions/s | acc |\n|---|---|---|---|")
    print(f"| lmbench | {ours_s:.1f} | {n / ours_s:.2f} | {correct[0] / n:.4f} |")
    print(f"| lm-eval {_version()} | {theirs_s:.1f} | {n / theirs_s:.2f} | {correct[1] / n:.4f} |")
    print(f"\nspeed-up lmbench vs lm-eval: {theirs_s / ours_s:.2f}x (target >= 2x)")
    print(f"largest |logprob difference|: {worst:.2e}; identical predictions: {same}/{n}")
    sys.exit(0 if same == n else 1)


def _version() -> str:
    from importlib.metadata import version

    return version("lm_eval")


if __name__ == "__main__":
    main()
