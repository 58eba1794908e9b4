"""Parity references: the same tasks run through other evaluation tools (lm-evaluation-harness)."""
