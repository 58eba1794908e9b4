"""Tokens/s of lmbench's batched NLL scoring vs the one-sample-at-a-time loop LMFlow ran.

Both score the same LMFlow NLL samples (default: the built-in `lmflow_nll` suite on ../shared/data, the
first N samples of each dataset) with the same model in this one process. The baseline is LMFlow's way:
one sample per forward pass, full logits, log-softmax over the whole sequence. Prints a table and checks
that both give the same NLL (within 1e-3 nats per sample).

    python benchmarks/nll_throughput.py                 # SmolLM2-135M-Instruct, 20 samples per dataset
    python benchmarks/nll_throughput.py --limit 50 --model path/to/hf_folder
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def one_at_a_time(model, tokenizer, request, max_length: int) -> float:
    """LMFlow-style: one sample per forward (windows of stride max_length/2 when it is longer), full log-softmax."""
    from lmbench.engine.nll import sliding_windows

    tokens, scored = [], []
    for text, is_scored in request.segments:
        ids = tokenizer.encode(text, add_special_tokens=False)
        tokens += ids
        scored += [is_scored] * len(ids)
    if request.skip_first:
        scored[0] = False
    first = next(i for i, s in enumerate(scored) if s)
    total = 0.0
    with torch.no_grad():
        for start, target, end in sliding_windows(len(tokens), first, max_length, max_length // 2):
            logprobs = torch.log_softmax(model(torch.tensor([tokens[start : end - 1]])).logits[0].float(), dim=-1)
            for position in range(target, end):
                if scored[position]:
                    total -= logprobs[position - 1 - start, tokens[position]].item()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--limit", type=int, default=20, help="samples per dataset")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = parser.parse_args()

    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.engine.nll import TextScorer
    from lmbench.models.loader import load_model
    from lmbench.tasks.prepare import prepare_tasks
    from lmbench.verbosity import quiet_libraries

    quiet_libraries()
    lm = load_model(args.model)
    prepared, _ = prepare_tasks("lmflow_nll", shots=None, limit=args.limit, data_dir=args.data_dir)
    requests = [r for p in prepared for d in p.data.docs for r in p.task.requests(p.prompts[0], d)]
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, progress=False)
    start = time.perf_counter()
    ours = TextScorer(engine).nll(requests)
    ours_s = time.perf_counter() - start
    tokens = sum(len(lm.tokenizer.encode(t, add_special_tokens=False)) for r in requests for t, _ in r.segments)
    start = time.perf_counter()
    theirs = [one_at_a_time(lm.model, lm.tokenizer, r, lm.max_length) for r in requests]
    theirs_s = time.perf_counter() - start
    worst = max(abs(a.nll - b) for a, b in zip(ours, theirs))
    print(f"\nmodel {lm.name}; {len(requests)} samples ({args.limit} per dataset), {tokens} tokens\n")
    print("| method | wall s | tokens/s |\n|---|---|---|")
    print(f"| one sample at a time (LMFlow) | {theirs_s:.1f} | {tokens / theirs_s:.0f} |")
    print(f"| lmbench batched | {ours_s:.1f} | {tokens / ours_s:.0f} |")
    print(f"\nspeed-up {theirs_s / ours_s:.2f}x; largest per-sample |NLL difference| {worst:.2e} nats")


if __name__ == "__main__":
    main()
