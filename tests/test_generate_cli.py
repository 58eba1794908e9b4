"""`lmbench generate`: streams an answer; a bad option is a one-line error."""

from __future__ import annotations

from test_cli_errors import assert_one_line_error, run_cli


def test_generate_streams_greedy_text(tiny_llama):
    first = run_cli("generate", str(tiny_llama), "--prompt", "The heart", "--template", "plain", "--max-new-tokens", "6")
    assert first.returncode == 0, first.stderr
    again = run_cli("generate", str(tiny_llama), "--prompt", "The heart", "--template", "plain", "--max-new-tokens", "6")
    assert first.stdout.strip() and first.stdout == again.stdout, "greedy decoding is deterministic"


def test_generate_without_chat_template_says_how_to_fix(tiny_llama):
    assert_one_line_error(run_cli("generate", str(tiny_llama), "--template", "chat"), "robin")
