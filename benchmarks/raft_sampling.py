"""RAFT sampling cost: K responses per prompt with ONE shared prefill vs `generate(num_return_sequences=K)`.

Both paths sample (temperature 0.85, top_p 1.0: LMFlow raft_aligner's settings) K responses to the same
HH-RLHF helpful-base test prompts (each dialogue up to its last "\\n\\nAssistant:"), with the same model in
this one process and the same prompts per batch (rows = prompts x K, capped by --rows). The baseline is
transformers' own `generate(num_return_sequences=K, do_sample=True)`, which repeats each prompt K times
before the prefill; lmbench's `generate_k` prefills each prompt once and expands its key/value cache to K
rows. Generated tokens are counted up to EOS or the "\\n\\nHuman:" stop on both paths; tokens/s is over
the generate call alone (prefill + decode; the baseline's token counting afterwards is not timed). The two
paths alternate batch by batch (which goes first alternates too), so a machine shared with other jobs slows
both alike; tokens per second of this process's CPU time (`time.process_time`, all threads) is printed next
to wall-clock tokens/s, as the fairer figure on a busy machine. Also checks that greedy outputs agree
between the two paths, and that the shared path's sampled outputs of the first batch come out the same when it
is run again with the same seed.

    python benchmarks/raft_sampling.py                           # SmolLM2-135M-Instruct, 8 prompts, K = 4, 8
    python benchmarks/raft_sampling.py --n-prompts 4 --max-new-tokens 16 --ks 2 4
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh-rlhf" / "helpful-base" / "test.jsonl.gz"
STOP = "\n\nHuman:"


def hh_prompts(path: Path, n: int, tokenizer, max_tokens: int) -> list[str]:
    from lmbench.data.readers import read_jsonl
    from lmbench.tasks.hh_rlhf import split_dialogue

    prompts: list[str] = []
    for row in read_jsonl(path):
        parts = split_dialogue(str(row.get("chosen", "")))
        if parts and len(tokenizer(parts[0])["input_ids"]) <= max_tokens:
            prompts.append(parts[0])
        if len(prompts) == n:
            break
    return prompts


def count_new(tokenizer, new: list[int], eos_ids: set[int]) -> int:
    """Tokens up to and including the first EOS or the token completing the stop string, whichever comes
    first (as the engine counts). A finished row is padded with the pad id, which may be an EOS id."""
    for i, t in enumerate(new):
        if t in eos_ids or STOP in tokenizer.decode(new[: i + 1], skip_special_tokens=True):
            return i + 1
    return len(new)


def baseline(engine, prompts: list[str], k: int, per: int, max_new: int,
             sample: bool) -> tuple[int, float, float, list]:
    """Tokens, wall and CPU seconds of the generate calls alone (counting tokens after is bookkeeping), outputs."""
    import torch

    tok, model = engine.tokenizer, engine.model
    tokens, outputs, wall, cpu = 0, [], 0.0, 0.0
    for g in range(0, len(prompts), per):  # callers pass one batch of prompts (len <= per)
        rows = [engine.encode(p) for p in prompts[g:g + per]]
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), engine.pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, width - len(r):], mask[i, width - len(r):] = torch.tensor(r), 1
        if sample:
            kwargs = {"do_sample": True, "temperature": 0.85, "top_p": 1.0, "top_k": 0, "num_return_sequences": k}
        else:  # greedy refuses num_return_sequences > 1: repeat the prompt rows as it would
            ids, mask, kwargs = ids.repeat_interleave(k, 0), mask.repeat_interleave(k, 0), {"do_sample": False}
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new, pad_token_id=engine.pad_id,
                                 stop_strings=[STOP], tokenizer=tok, **kwargs)
        wall, cpu = wall + time.perf_counter() - start, cpu + time.process_time() - cpu_start
        for row in out[:, width:].tolist():
            n = count_new(tok, row, engine.eos_ids)
            tokens += n
            outputs.append(tuple(row[:n]))
    return tokens, wall, cpu, outputs


def shared(engine, prompts: list[str], k: int, max_new: int, sample: bool) -> tuple[int, float, float, list]:
    from lmbench.engine.requests import GenerateRequest
    from lmbench.engine.sample_k import generate_k

    params = {"max_new_tokens": max_new, "stop": [STOP]}
    if sample:
        params |= {"do_sample": True, "temperature": 0.85, "top_p": 1.0, "seed": 0}
    start, cpu_start = time.perf_counter(), time.process_time()
    results = generate_k(engine, [GenerateRequest(p, params) for p in prompts], k)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    flat = [r for rs in results for r in rs]
    return sum(r.n_new_tokens for r in flat), wall, cpu, [r.token_ids for r in flat]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="checkpoint (default: the built-in SmolLM2-135M-Instruct)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--n-prompts", type=int, default=8)
    parser.add_argument("--max-prompt-tokens", type=int, default=512)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--ks", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--rows", type=int, default=16, help="rows per batch (prompts per batch = rows // K)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lmbench.engine.generate import GenerationEngine
    from lmbench.models.default_model import default_model_dir

    path = args.model or str(default_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(args.device).eval()
    prompts = hh_prompts(args.data, args.n_prompts, tokenizer, args.max_prompt_tokens)
    lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    print(f"model {path}; device {args.device}; threads {torch.get_num_threads()}; {len(prompts)} HH-RLHF prompts, "
          f"{min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f}); "
          f"max_new_tokens {args.max_new_tokens}", flush=True)
    rows = []
    for k in args.ks:
        per = max(1, args.rows // k)
        engine = GenerationEngine(model, tokenizer, 8192, batch_size=per * k, progress=False)
        shared(engine, prompts[:1], k, 2, True)  # warm-up
        g_b = baseline(engine, prompts[:per], k, per, args.max_new_tokens, False)[3]
        g_s = shared(engine, prompts[:per], k, args.max_new_tokens, False)[3]
        agree = sum(a == b for a, b in zip(g_b, g_s))
        totals = {"baseline": [0, 0.0, 0.0], "shared": [0, 0.0, 0.0]}  # tokens, wall s, CPU s
        for n, g in enumerate(range(0, len(prompts), per)):
            batch = prompts[g:g + per]
            runs = [("baseline", lambda: baseline(engine, batch, k, per, args.max_new_tokens, True)),
                    ("shared", lambda: shared(engine, batch, k, args.max_new_tokens, True))]
            for name, fn in (runs if n % 2 == 0 else runs[::-1]):
                tokens, wall, cpu, outputs = fn()
                if name == "shared" and n == 0:
                    first_sampled = outputs
                totals[name][0] += tokens
                totals[name][1] += wall
                totals[name][2] += cpu
        repeat = shared(engine, prompts[:per], k, args.max_new_tokens, True)[3]
        same = sum(a == b for a, b in zip(first_sampled, repeat))
        rows.append((k, per, totals, agree, len(g_b), same, len(repeat)))
        print(f"K={k}: " + "; ".join(f"{name} {t} tokens in {w:.1f} s wall, {c:.1f} s CPU"
                                     for name, (t, w, c) in totals.items()), flush=True)
    print("\n| K | prompts/batch | num_return_sequences tok/s (wall / CPU) | shared prefill tok/s (wall / CPU) "
          "| ratio wall | ratio CPU | greedy agree | sampled, same seed again |")
    print("|---|---|---|---|---|---|---|---|")
    for k, per, totals, agree, n, same, n_sampled in rows:
        (tb, wb, cb), (ts, ws, cs) = totals["baseline"], totals["shared"]
        print(f"| {k} | {per} | {tb / wb:.1f} / {tb / cb:.1f} | {ts / ws:.1f} / {ts / cs:.1f} | "
              f"{(ts / ws) / (tb / wb):.2f}x | {(ts / cs) / (tb / cb):.2f}x | {agree}/{n} | {same}/{n_sampled} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
