"""lmbench: trustworthy, fast language-model evaluation, recorded in DuckDB."""

__version__ = "0.1.0"
