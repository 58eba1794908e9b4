"""Training tokens/s of `lmbench tune sft-full` vs TRL's SFTTrainer (its defaults), same model/data/batch/length.

Each side runs in its own subprocess (so peak RSS is its own): lmbench through the `sft-full` recipe
(`load_recipe` + `run_recipe`, the code `lmbench tune` runs), TRL through `SFTTrainer` with `SFTConfig`
defaults except what must match (max_length, batch size, steps, learning rate, no reporting). Both save a
checkpoint at the last step (TRL's default save_strategy="steps" and lmbench's, which `resume=true` continues from),
so both timings include it.
Both train on the same (prompt, completion) pairs with the loss on the completion only: lmbench from
text2text data with the Robin template, TRL from prompt/completion rows with the same Robin prompt text.
Throughput = non-padding input tokens seen / training wall time (Trainer's num_input_tokens_seen).

    python benchmarks/sft_throughput.py                      # SmolLM2-135M-Instruct, PubMedQA long answers
    python benchmarks/sft_throughput.py --steps 20 --batch-size 4 --max-length 256
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROBIN = "###Human: {input}###Assistant:"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_lmbench(args: argparse.Namespace, work: Path) -> dict:
    from lmbench.tuning.registry import load_recipe, run_recipe

    config = load_recipe("sft-full", [f"model={args.model}", f"data={args.data}", f"output_dir={work / 'out'}",
                                      f"db={work / 'db.duckdb'}", f"max_steps={args.steps}",
                                      f"batch_size={args.batch_size}", f"max_length={args.max_length}",
                                      "learning_rate=2e-5", "progress=false", f"seed={args.seed}"])
    result = run_recipe(config)
    from lmbench.store import Store

    with Store(config.db, read_only=True) as store:
        log = store.train_log(result.training_run_id)
    tokens = int(log["num_input_tokens_seen"].iloc[-1])
    return {"tokens": tokens, "train_s": result.timings["train_s"], "steps": result.global_step}


def worker_trl(args: argparse.Namespace, work: Path) -> dict:
    import datasets
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lmbench.data.lmflow import load_lmflow
    from lmbench.models.loader import inspect_checkpoint

    info = inspect_checkpoint(args.model)
    rows = [{"prompt": ROBIN.format(input=i["input"]), "completion": i["output"]}
            for i in load_lmflow(args.data).instances]
    tokenizer = AutoTokenizer.from_pretrained(info.folder)
    model = AutoModelForCausalLM.from_pretrained(info.folder, dtype="float32")
    config = trl.SFTConfig(output_dir=str(work / "trl"), max_length=args.max_length,
                           per_device_train_batch_size=args.batch_size, max_steps=args.steps, learning_rate=2e-5,
                           report_to="none", logging_steps=1, seed=args.seed, use_cpu=True,
                           include_num_input_tokens_seen="non_padding", disable_tqdm=True)
    trainer = trl.SFTTrainer(model=model, args=config, train_dataset=datasets.Dataset.from_list(rows),
                             processing_class=tokenizer)
    started = time.perf_counter()
    trainer.train()
    return {"tokens": int(trainer.state.num_input_tokens_seen), "train_s": time.perf_counter() - started,
            "steps": trainer.state.global_step, "gradient_checkpointing": bool(config.gradient_checkpointing)}


def _default_data(work: Path) -> str:
    from lmbench.data.convert import pubmedqa_text2text, save_lmflow

    source = ROOT.parent / "shared" / "data" / "pubmedqa" / "ori_pqal.json"
    if not source.is_file():
        sys.exit(f"no --data given and {source} is missing; pass --data an LMFlow text2text file")
    return str(save_lmflow(pubmedqa_text2text(source), work / "pubmedqa_qa.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", default=None, help="LMFlow text2text file (default: PubMedQA PQA-L long answers)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--worker", choices=("lmbench", "trl"), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from lmbench.verbosity import quiet_libraries

        quiet_libraries()
        out = (worker_lmbench if args.worker == "lmbench" else worker_trl)(args, Path(args.work))
        print("RESULT " + json.dumps({**out, "peak_rss_mib": _peak_rss_mib()}))
        return
    with tempfile.TemporaryDirectory(prefix="sft_throughput_") as tmp:
        work = Path(tmp)
        data = args.data or _default_data(work)
        results = {}
        for side in ("lmbench", "trl"):
            side_dir = work / side
            side_dir.mkdir()
            cmd = [sys.executable, __file__, "--worker", side, "--work", str(side_dir), "--model", args.model,
                   "--data", data, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                   "--max-length", str(args.max_length), "--seed", str(args.seed)]
            done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if done.returncode != 0 or line is None:
                sys.exit(f"{side} worker failed:\n{done.stderr[-3000:]}")
            results[side] = json.loads(line.removeprefix("RESULT "))
    for side, r in results.items():
        r["tokens_per_s"] = r["tokens"] / r["train_s"]
        print(f"{side:8s} {r['steps']} steps, {r['tokens']} tokens in {r['train_s']:.1f} s = "
              f"{r['tokens_per_s']:.1f} tokens/s, peak RSS {r['peak_rss_mib']:.0f} MiB")
    ratio = results["lmbench"]["tokens_per_s"] / results["trl"]["tokens_per_s"]
    print(f"lmbench / TRL SFTTrainer: {ratio:.2f}x tokens/s (TRL defaults: gradient_checkpointing="
          f"{results['trl'].get('gradient_checkpointing')}); batch {args.batch_size}, max_length {args.max_length}")


if __name__ == "__main__":
    main()
