"""`lmbench eval CHECKPOINT --tasks ...`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def eval_command(
    checkpoint: Annotated[Optional[str], typer.Argument(help="Model folder, .gguf file, LoRA adapter folder, zoo delta folder or entry (with --base), or Hub id; default: built-in SmolLM2-135M-Instruct.")] = None,
    tasks: Annotated[str, typer.Option(help="Comma-separated tasks, groups or suites (see `lmbench tasks`); mcq:FILE (your multiple choice), nll:PATH (NLL of LMFlow data), ppl:PATH (rolling perplexity), gen:PATH (generation vs references), lm_eval:NAME (any lm-evaluation-harness task).")] = "lmbench_sample",
    shots: Annotated[Optional[int], typer.Option(help="Few-shot examples per question (default: the task's own, MMLU 5).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Score only the first N questions of each task.")] = None,
    sample: Annotated[Optional[int], typer.Option(help="Score N questions of each task drawn at random with --seed (PubMedQA's test file is sorted by label: prefer this to --limit).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for every random choice; recorded with the run.")] = 1234,
    batch_size: Annotated[str, typer.Option("--batch-size", help="Rows per forward pass, or 'auto' (token budget, backs off on out-of-memory).")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto|float32|bfloat16|float16 (auto: float32 on CPU, the checkpoint's on GPU).")] = "auto",
    device: Annotated[str, typer.Option(help="auto|cpu|cuda.")] = "auto",
    data_dir: Annotated[Optional[str], typer.Option("--data-dir", envvar="LMBENCH_DATA", help="Folder with benchmark files (layout in README).")] = None,
    db: Annotated[Optional[str], typer.Option(envvar="LMBENCH_DB", help="DuckDB results file (default ./lmbench.duckdb).")] = None,
    max_length: Annotated[Optional[int], typer.Option("--max-length", help="Context length; longer inputs are cut from the left.")] = None,
    base: Annotated[Optional[str], typer.Option(help="Base model for a LoRA adapter (default: from adapter_config.json) or a zoo delta (required).")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow code shipped with the checkpoint to run.")] = False,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help="Allow pickle (*.bin) weights.")] = False,
    prefix_reuse: Annotated[bool, typer.Option("--prefix-reuse/--no-prefix-reuse", help="Compute a prefix shared by many prompts once.")] = True,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    force: Annotated[bool, typer.Option("--force", help="Recompute everything: ignore cached answers and unfinished runs.")] = False,
    write_every: Annotated[int, typer.Option("--write-every", help="Questions per database write (at most this many are lost if killed).")] = 64,
    nll_prompt: Annotated[Optional[str], typer.Option("--nll-prompt", help="NLL tasks' conversation template: robin (default, LMFlow's '###Human: {input}###Assistant:'), chatml, llama3, hh, plain, or a format string with {input}.")] = None,
    reward_model: Annotated[Optional[str], typer.Option("--reward-model", help="Generation tasks: a sequence-classification checkpoint with one output.")] = None,
    ppl_model: Annotated[Optional[str], typer.Option("--ppl-model", help="Generation tasks: model for the responses' perplexity (default: the evaluated model).")] = None,
    max_new_tokens: Annotated[Optional[int], typer.Option("--max-new-tokens", help="Generation tasks: new-token limit (default: the task's, 128).")] = None,
    temperature: Annotated[float, typer.Option(help="Generation tasks: 0 = greedy; >0 samples, seeded per question from --seed.")] = 0.0,
    include_path: Annotated[Optional[list[str]], typer.Option("--include-path", help="Folder of lm-evaluation-harness task YAMLs for lm_eval: tasks (repeatable); searched before the harness's own.")] = None,
) -> None:
    """Evaluate CHECKPOINT on tasks of every kind; print the table and record everything in the database.

    Multiple choice (MMLU, MedMCQA, PubMedQA, MedQA, mcq:FILE) is scored by log-likelihood as
    lm-evaluation-harness does; the LMFlow NLL benchmark (lmflow_nll, nll:PATH) and rolling perplexity
    (ppl:PATH) score reference texts; generation tasks (hh_rlhf_helpful, hh_rlhf_harmless, gen:PATH)
    generate answers and score reward, diversity and reference overlap; lm_eval:NAME runs any
    lm-evaluation-harness task through lmbench's engine. Answers already computed for this model are
    reused from the database.
    """
    from lmbench.cli.render import print_outcome
    from lmbench.runner import EvalConfig, evaluate
    from lmbench.verbosity import quiet_libraries

    quiet_libraries()
    config = EvalConfig(checkpoint=checkpoint, tasks=tasks, shots=shots, limit=limit, sample=sample, seed=seed, batch_size=batch_size,
                        dtype=dtype, device=device, data_dir=data_dir, db=db, max_length=max_length, base=base,
                        trust_remote_code=trust_remote_code, allow_pickle=allow_pickle, reuse_prefix=prefix_reuse,
                        progress=progress, force=force, write_every=write_every,
                        nll_prompt=nll_prompt, reward_model=reward_model, ppl_model=ppl_model,
                        max_new_tokens=max_new_tokens, temperature=temperature, include_path=tuple(include_path or ()))
    outcome = evaluate(config)
    print_outcome(outcome)
    _warn_cut_prompts()


def _warn_cut_prompts() -> None:
    import sys

    from lmbench.engine.notices import take_cut

    for length, count in take_cut().items():
        many = count != 1
        print(f"lmbench: warning: {count} prompt{'s' if many else ''} longer than the context of {length} tokens "
              f"{'were' if many else 'was'} cut from the left (first tokens dropped) to be scored; raise --max-length "
              "if the model allows, or expect those answers to differ", file=sys.stderr)
