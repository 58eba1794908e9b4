"""Errors a user can cause. The CLI prints their one-line message and exits 2."""


class LmbenchError(Exception):
    """Base of every user-facing error: the message says what was wrong and how to fix it."""


class CheckpointError(LmbenchError):
    """A checkpoint could not be found or loaded as a causal language model."""


class TaskError(LmbenchError):
    """An unknown task name or an impossible task option (e.g. too many shots)."""


class DataError(LmbenchError):
    """Benchmark data is missing, unreadable or malformed."""


class ConfigError(LmbenchError):
    """An invalid option value or configuration key."""


class StoreError(LmbenchError):
    """The results database cannot be opened or written."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) during a command: a KeyboardInterrupt, so a run in progress is marked `interrupted`
    exactly as on Ctrl-C; `signal` is the signal number (the CLI exits 128 + signal)."""

    def __init__(self, signal: int) -> None:
        super().__init__(signal)
        self.signal = signal


class LineageError(StoreError):
    """A lineage edge names a model the database does not know (or is otherwise impossible)."""
