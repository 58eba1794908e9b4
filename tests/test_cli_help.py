"""Help says what each command really does and renders in full in a pipe (no 80-column cut, no "…")."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

COMMANDS = ["eval", "generate", "tasks", "runs", "results", "compare", "import-harness", "export-harness",
            "leaderboard"]


def _help_in_a_pipe(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH", "LINES")}
    done = subprocess.run([sys.executable, "-m", "lmbench", *args, "--help"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_eval_help_names_every_kind_of_task():
    text = " ".join(_help_in_a_pipe("eval").split())
    for phrase in ("Multiple choice (MMLU, MedMCQA, PubMedQA, MedQA, mcq:FILE)", "LMFlow NLL benchmark",
                   "rolling perplexity (ppl:PATH)", "generation tasks (hh_rlhf_helpful, hh_rlhf_harmless, gen:PATH)",
                   "lm_eval:NAME runs any lm-evaluation-harness task"):
        assert phrase in text
    assert "nll:PATH (NLL of" in text and "chatml, llama3" in text  # --tasks, --nll-prompt


@pytest.mark.parametrize("command", [[]] + [[c] for c in COMMANDS])
def test_help_is_not_cut_to_80_columns_in_a_pipe(command):
    text = _help_in_a_pipe(*command)
    widths = [len(line) for line in text.splitlines()]
    assert "…" not in text and max(widths) > 80, max(widths)
