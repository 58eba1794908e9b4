"""`lmbench tasks`: list the registered tasks and groups."""

from __future__ import annotations

import typer


def tasks_command() -> None:
    """List built-in tasks and task groups (plus mcq:FILE for your own questions)."""
    from lmbench.tasks import groups, task_names
    from lmbench.tasks.registry import suites

    for name, suite in sorted(suites().items()):
        members = ", ".join(f"{m} {n}-shot" for m, n in suite.shots)
        typer.echo(f"{name:<28} suite: {members}; average of {', '.join(f'{t} {m}' for t, m in suite.headline)}")
    for name, members in sorted(groups().items()):
        typer.echo(f"{name:<28} group of {len(members)} tasks")
    for name in task_names():
        typer.echo(name)
    for prefix, what in (("mcq:PATH", "your own multiple-choice questions, letters scored (JSONL/CSV)"),
                         ("mcq_cloze:PATH", "the same, option texts scored"),
                         ("nll:PATH", "LMFlow NLL of text_only/text2text/conversation data"),
                         ("ppl:PATH", "harness-style rolling perplexity of text_only data"),
                         ("gen:PATH", "generate answers to text2text inputs; BLEU, ROUGE-L, METEOR, NIST"),
                         ("lm_eval:NAME", "any lm-evaluation-harness task, group or tag (--include-path for your YAMLs)")):
        typer.echo(f"{prefix:<28} {what}")
