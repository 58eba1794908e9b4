"""Tokens/s of lmbench's batched GenerationEngine vs plain `model.generate`, one prompt at a time.

Both run the same instructions (formatted with the model's chat template), greedy, with the same model in
this one process. The baseline is the usual loop: tokenize one prompt, `model.generate(max_new_tokens=N)`,
count the new tokens up to EOS. Prints a table, the speed-up, and how many greedy outputs agree.

    python benchmarks/generation_throughput.py                          # SmolLM2-135M-Instruct, 16 x 64 tokens
    python benchmarks/generation_throughput.py --n-prompts 8 --max-new-tokens 32 --batch-size 8
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

INSTRUCTIONS = [
    "Name three organs of the human body.",
    "What is the boiling point of water at sea level?",
    "Write a haiku about autumn leaves.",
    "Explain photosynthesis in one sentence.",
    "List the first five prime numbers.",
    "What does a red traffic light mean?",
    "Give a synonym for 'happy'.",
    "Translate 'good morning' into French.",
    "Why is the sky blue?",
    "Describe a cat in two sentences.",
    "What is the capital of Japan?",
    "Suggest a name for a pet goldfish.",
    "How many legs does a spider have?",
    "Write one tip for better sleep.",
    "What is 12 times 12?",
    "Summarise the plot of Cinderella in one sentence.",
]


def baseline(model, tokenizer, prompts: list[str], max_new_tokens: int) -> tuple[int, float, list[list[int]]]:
    """Plain transformers: one prompt per `generate` call."""
    import torch

    outputs, tokens = [], 0
    start = time.perf_counter()
    for prompt in prompts:
        enc = tokenizer(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        new = out[0, enc["input_ids"].shape[1]:].tolist()
        outputs.append(new)
        tokens += len(new)
    return tokens, time.perf_counter() - start, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="checkpoint (default: the built-in SmolLM2-135M-Instruct)")
    parser.add_argument("--n-prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    from lmbench.engine.generate import GenerationEngine
    from lmbench.engine.requests import GenerateRequest
    from lmbench.engine.templates import format_prompt
    from lmbench.models.loader import load_model
    from lmbench.verbosity import quiet_libraries

    quiet_libraries()
    loaded = load_model(args.model, device="cpu")
    model, tokenizer = loaded.model, loaded.tokenizer
    template = "chat" if getattr(tokenizer, "chat_template", None) else "plain"
    prompts = [format_prompt(tokenizer, INSTRUCTIONS[i % len(INSTRUCTIONS)], template) for i in range(args.n_prompts)]

    engine = GenerationEngine(model, tokenizer, loaded.max_length, batch_size=args.batch_size, progress=False)
    engine.run([GenerateRequest(prompts[0], {"max_new_tokens": 2})])  # warm-up
    start = time.perf_counter()
    results = engine.run([GenerateRequest(p, {"max_new_tokens": args.max_new_tokens}) for p in prompts])
    ours_s = time.perf_counter() - start
    ours_tokens = sum(r.n_new_tokens for r in results)

    base_tokens, base_s, base_out = baseline(model, tokenizer, prompts, args.max_new_tokens)
    same = sum(list(r.token_ids) == b[:len(r.token_ids)] and len(b) == len(r.token_ids)
               for r, b in zip(results, base_out))

    rows = [("transformers generate, 1 at a time", base_tokens, base_s),
            (f"lmbench GenerationEngine, batch {args.batch_size}", ours_tokens, ours_s)]
    print(f"\n{loaded.name}: {args.n_prompts} prompts, greedy, max_new_tokens {args.max_new_tokens}, "
          f"torch threads {__import__('torch').get_num_threads()}")
    print(f"{'method':<40} {'new tokens':>10} {'seconds':>8} {'tok/s':>8}")
    for name, tokens, seconds in rows:
        print(f"{name:<40} {tokens:>10} {seconds:>8.1f} {tokens / seconds:>8.1f}")
    ratio = (ours_tokens / ours_s) / (base_tokens / base_s)
    print(f"speed-up: {ratio:.2f}x   identical greedy outputs: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
