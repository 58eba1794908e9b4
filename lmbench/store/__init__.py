"""The results store: one DuckDB file holding models, tasks, runs, results and samples.

Imports only duckdb and pandas (never torch/transformers), so every part of
lmbench can use it cheaply.
"""

from lmbench.store.schema import RUN_STATUSES, SCHEMA_VERSION
from lmbench.store.store import Store

__all__ = ["RUN_STATUSES", "SCHEMA_VERSION", "Store"]
