"""Open a DuckDB file with clear errors, wait out locks, apply migrations."""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from lmbench.errors import StoreError
from lmbench.store.schema import MIGRATIONS, SCHEMA_VERSION

DEFAULT_TIMEOUT_S = 10.0
TIMEOUT_ENV = "LMBENCH_DB_TIMEOUT"
MEMORY = ":memory:"
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


def utcnow() -> datetime:
    """Naive UTC timestamp, the form every TIMESTAMP column holds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def lock_timeout(timeout: float | None = None) -> float:
    """Seconds to wait for a locked database: `timeout`, else `$LMBENCH_DB_TIMEOUT`, else 10."""
    if timeout is not None:
        return float(timeout)
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise StoreError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds >= 0; set it to e.g. 10")
    return value


def connect(path: str | Path, *, read_only: bool, timeout: float | None = None) -> duckdb.DuckDBPyConnection:
    """Connect to `path`, retrying while another process holds the write lock."""
    budget = lock_timeout(timeout)
    where = str(path)
    if where != MEMORY:
        file = Path(path)
        if read_only and not file.exists():
            raise StoreError(
                f"results database {file} does not exist; run `lmbench eval` first or pass --db with another path"
            )
        try:
            if file.exists() and not _looks_like_duckdb(file):
                raise _not_a_database(where)
            if not read_only:
                file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _cannot_open(where, str(exc)) from exc
    deadline = time.monotonic() + budget
    delay = 0.05
    while True:
        try:
            return _checked(duckdb.connect(where, read_only=read_only), where)
        except duckdb.IOException as exc:
            message = str(exc)
            if "not a valid DuckDB database" in message:
                raise _not_a_database(where) from exc
            if not any(marker in message for marker in _LOCK_MARKERS):
                raise _cannot_open(where, message) from exc
            if time.monotonic() >= deadline:
                pid = re.search(r"PID (\d+)", message)
                holder = f" (PID {pid.group(1)})" if pid else ""
                raise StoreError(
                    f"results database {where} is locked by another lmbench process{holder} after waiting {budget:g} s; "
                    f"wait for it to finish, raise {TIMEOUT_ENV}, or pass --db with another path"
                ) from exc
            time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
            delay = min(delay * 2, 0.5)
        except duckdb.ConnectionException as exc:
            raise StoreError(
                f"results database {where} is already open in this process in another mode: {_first_line(str(exc))}; "
                "close the other Store first"
            ) from exc
        except duckdb.Error as exc:
            raise _cannot_open(where, str(exc)) from exc


def _looks_like_duckdb(file: Path) -> bool:
    """True for a DuckDB file: 8 checksum bytes, then the magic b"DUCK"."""
    if file.is_dir():
        return False
    with file.open("rb") as handle:
        return handle.read(12)[8:12] == b"DUCK"


def _cannot_open(where: str, message: str) -> StoreError:
    return StoreError(f"cannot open results database {where}: {_first_line(message)}; pass --db with another path")


def _not_a_database(where: str) -> StoreError:
    return StoreError(f"{where} is not a DuckDB database (it was left untouched); pass --db with another path")


def _checked(con: duckdb.DuckDBPyConnection, where: str) -> duckdb.DuckDBPyConnection:
    """Refuse what duckdb opened as a data file: it shows an existing .csv/.parquet as in-memory views."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    if where != MEMORY and (not rows or rows[0][0] is None):
        con.close()
        raise _not_a_database(where)
    return con


def current_version(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """The file's schema version; 0 for an empty database."""
    tables = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = 'main'"
        ).fetchall()
    }
    if "schema_version" not in tables:
        if tables:
            raise StoreError(
                f"{where} is a DuckDB database but not an lmbench results store (no schema_version table); "
                "pass --db with another path"
            )
        return 0
    # fetchall, not fetchone: duckdb 2 refuses register() while a result is unfinished
    (found,) = con.execute("SELECT max(version) FROM schema_version").fetchall()[0]
    return int(found) if found is not None else 0


def migrate(con: duckdb.DuckDBPyConnection, where: str, *, read_only: bool) -> int:
    """Bring the schema to `SCHEMA_VERSION`; return the version found before."""
    found = current_version(con, where)
    if found > SCHEMA_VERSION:
        writer = _writer_version(con, found)
        need = f"lmbench>={writer}" if writer else "a newer lmbench"
        raise StoreError(
            f"{where} was written by a newer lmbench (schema {found} > {SCHEMA_VERSION}, this is lmbench "
            f"{lmbench_version()}); it needs {need}: upgrade (pip install -U 'lmbench>={writer or lmbench_version()}') "
            "or pass --db with another path"
        )
    pending = [(version, sql) for version, sql in MIGRATIONS if version > found]
    if pending and read_only:
        raise StoreError(
            f"{where} has schema {found} but this lmbench needs {SCHEMA_VERSION}; "
            "open it once without read-only (e.g. run `lmbench eval`) to migrate it"
        )
    for version, sql in pending:
        con.begin()
        try:
            con.execute(sql)
            if version >= 2:  # schema 2 added the column naming the lmbench that applied a migration
                con.execute("INSERT INTO schema_version (version, applied_at, lmbench) VALUES (?, ?, ?)",
                            [version, utcnow(), lmbench_version()])
            else:
                con.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", [version, utcnow()])
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise StoreError(
                f"migrating {where} to schema {version} failed: {_first_line(str(exc))}; "
                "restore a backup or pass --db with another path"
            ) from exc
    return found


def lmbench_version() -> str:
    """The running lmbench's version (recorded with each migration it applies)."""
    from lmbench import __version__

    return __version__


def _writer_version(con: duckdb.DuckDBPyConnection, version: int) -> str | None:
    """Which lmbench applied schema `version` (files from schema 2 on record it), else None."""
    try:
        rows = con.execute("SELECT lmbench FROM schema_version WHERE version = ?", [version]).fetchall()
    except duckdb.Error:
        return None
    return str(rows[0][0]) if rows and rows[0][0] else None


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown error"
