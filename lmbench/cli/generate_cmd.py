"""`lmbench generate CHECKPOINT --prompt ...`: a quick look at what a model says, streamed as it comes."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer


def generate_command(
    checkpoint: Annotated[Optional[str], typer.Argument(help="Model folder, .gguf file, LoRA adapter or Hub id; default: built-in SmolLM2-135M-Instruct.")] = None,
    prompt: Annotated[str, typer.Option(help="What to ask.")] = "What does the heart do?",
    template: Annotated[str, typer.Option(help="chat (the tokenizer's chat template), robin (###Human: ...###Assistant:), chatml, llama3, hh (\\n\\nHuman: ...\\n\\nAssistant:), plain, or a format string with {input}.")] = "chat",
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 128,
    temperature: Annotated[float, typer.Option(help="0 for greedy decoding.")] = 0.0,
    top_p: Annotated[float, typer.Option("--top-p")] = 1.0,
    seed: Annotated[int, typer.Option(help="Sampling seed (same seed, same text).")] = 1234,
    dtype: Annotated[str, typer.Option()] = "auto",
    device: Annotated[str, typer.Option()] = "auto",
) -> None:
    """Generate one answer, printing text as it is produced (through lmbench's generation engine)."""
    from lmbench.engine.generate import GenerationEngine
    from lmbench.engine.requests import GenerateRequest
    from lmbench.engine.templates import format_prompt
    from lmbench.errors import ConfigError
    from lmbench.models.loader import load_model
    from lmbench.verbosity import quiet_libraries

    quiet_libraries()
    import math

    if max_new_tokens < 1:
        raise ConfigError(f"--max-new-tokens {max_new_tokens} is out of range: expected 1 or more new tokens")
    if not math.isfinite(temperature) or temperature < 0:
        raise ConfigError(f"--temperature {temperature} is out of range: expected 0 (greedy) or a positive number")
    if not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise ConfigError(f"--top-p {top_p} is out of range: expected a number in (0, 1]")
    if seed < 0:
        raise ConfigError(f"--seed {seed} is out of range: expected 0 or more")
    lm = load_model(checkpoint, dtype=dtype, device=device)
    text = format_prompt(lm.tokenizer, prompt, template)
    params: dict = {"max_new_tokens": max_new_tokens, "seed": seed}
    if temperature > 0:
        params.update(do_sample=True, temperature=temperature, top_p=top_p)
    engine = GenerationEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=1, progress=False)

    def show(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    engine.stream(GenerateRequest(text, params), show)
    sys.stdout.write("\n")
