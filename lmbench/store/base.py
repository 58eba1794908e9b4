"""`StoreBase`: an open results database (lifecycle, connection, plain reads) that `Store`'s parts build on."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd

from lmbench.errors import StoreError
from lmbench.store import frames
from lmbench.store.db import connect, migrate
from lmbench.store.schema import JSON_COLUMNS


class StoreBase:
    """A results database file; creates or migrates its schema on open."""

    def __init__(self, path: str | Path, *, read_only: bool = False, timeout: float | None = None) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = connect(path, read_only=read_only, timeout=timeout)
        try:
            migrate(self._con, self.path, read_only=read_only)
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        """Release the file (and its lock); safe to call twice."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The open DuckDB connection (for queries the methods below do not cover)."""
        if self._con is None:
            raise StoreError(f"results database {self.path} is closed; open a new Store")
        return self._con

    def _writable(self) -> duckdb.DuckDBPyConnection:
        if self.read_only:
            raise StoreError(f"results database {self.path} was opened read-only; open it without read_only to write")
        return self.con

    def _transaction(self, statements: list[tuple[str, list[Any]]]) -> None:
        """Run write statements all-or-nothing; a DuckDB failure becomes a StoreError."""
        con = self._writable()
        con.begin()
        try:
            for sql, params in statements:
                con.execute(sql, params)
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise StoreError(f"writing to {self.path} failed: {str(exc).strip().splitlines()[0]}; "
                             "check the disk and file permissions") from exc

    # -- reads ---------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame (JSON columns stay text)."""
        return self.con.execute(sql, params or []).df()

    def _exists(self, table: str, column: str, value: Any) -> bool:
        return bool(self.con.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", [value]).fetchall())

    def _table(self, table: str, where: dict[str, Any], order: str) -> pd.DataFrame:
        filters = {k: v for k, v in where.items() if v is not None}
        clause = " AND ".join(f"{k} = ?" for k in filters)
        sql = f"SELECT * FROM {table}{' WHERE ' + clause if clause else ''} ORDER BY {order}"
        return frames.decode(self.query(sql, list(filters.values())), JSON_COLUMNS.get(table, ()))
