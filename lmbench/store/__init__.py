"""The results store: one DuckDB file holding models, lineage, tasks, runs, results, samples and training runs.

Imports only duckdb and pandas (never torch/transformers), so every part of
lmbench can use it cheaply.
"""

from lmbench.errors import LineageError
from lmbench.store.schema import RUN_STATUSES, SCHEMA_VERSION
from lmbench.store.store import Store

__all__ = ["RUN_STATUSES", "SCHEMA_VERSION", "LineageError", "Store"]
