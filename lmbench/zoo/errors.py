"""Errors of the zoo; one line each, saying what did not match and how to fix it."""

from lmbench.errors import LmbenchError


class ZooError(LmbenchError):
    """A delta, adapter, zoo entry or Hub repository is wrong for what was asked."""
