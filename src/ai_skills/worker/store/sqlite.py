"""The SQLite backend: connect() and `SqliteDb`, the one place that knows SQLite's dialect."""

from __future__ import annotations

import os

try:
    # The C module is all the store uses: the `sqlite3` package around it adds only the
    # (deprecated) date adapters and, through `datetime`, costs `worker status` a third of
    # a Python start-up (benchmarks/worker_bench.py). Its classes are the same objects.
    import _sqlite3 as sqlite3
except ImportError:  # an interpreter that names it otherwise
    import sqlite3  # type: ignore[no-redef]

from ai_skills.worker.store.migrations import apply_migrations
from ai_skills.worker.store.sqlite_schema import MIGRATIONS

TYPE_CHECKING = False  # `typing` and `contextlib` cost `worker status` milliseconds
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from ai_skills.worker.store.backend import Params, PollWaiter, Row
    from ai_skills.worker.store.migrations import Migration


class SqliteDb:
    """A SQLite connection as the table-family modules use it (the `Db` of backend.py)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        return list(self.conn.execute(sql, params).fetchall())

    def row(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, if any."""
        found: Row | None = self.conn.execute(sql, params).fetchone()
        return found

    def value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row of a query (None when there is no row)."""
        found = self.conn.execute(sql, params).fetchone()
        return None if found is None else found[0]

    def run(self, sql: str, params: Params = ()) -> int:
        """Run a write statement; the number of rows it changed."""
        return int(self.conn.execute(sql, params).rowcount)

    def insert(self, sql: str, params: Params = (), *, returning: str = "id") -> int:
        """Run an INSERT into a table with a generated key; that key (lastrowid here,
        `RETURNING <returning>` where the database has no lastrowid)."""
        return int(self.conn.execute(sql, params).lastrowid or 0)

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """A raw statement: for migrations and tests, never for the rest of the worker."""
        return self.conn.execute(sql, params)

    def transaction(self) -> _Transaction:
        """One write transaction taken up front (BEGIN IMMEDIATE); rolled back on any error."""
        return _Transaction(self, "BEGIN IMMEDIATE", on_error="ROLLBACK")

    def snapshot(self) -> _Transaction:
        """One consistent read of several queries (a deferred transaction, always ended)."""
        return _Transaction(self, "BEGIN", on_error="COMMIT")

    def integrity_problem(self) -> str | None:
        """What the database's own consistency check found wrong, or None."""
        check = str(self.conn.execute("PRAGMA quick_check").fetchone()[0])
        return None if check == "ok" else check

    def issued_keys(self, table: str) -> int:
        """The highest generated key a table ever handed out (deleted rows included)."""
        found = self.conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)
        ).fetchone()
        return int(found[0]) if found else 0

    def has_table(self, name: str) -> bool:
        """True when the table exists."""
        found = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return found is not None

    def announce_event(self, seq: int) -> None:
        """Nothing: SQLite cannot wake another process; its watchers poll."""

    def event_waiter(self) -> PollWaiter:
        """The clock (PollWaiter): readers look again every half second."""
        from ai_skills.worker.store.backend import PollWaiter

        return PollWaiter()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class _Transaction:
    """`with db.transaction():` — a class, not `contextlib.contextmanager`, whose import
    every `worker status` would pay. Begins on entry; on an error, ends with `on_error`."""

    __slots__ = ("db", "begin", "on_error")

    def __init__(self, db: SqliteDb, begin: str, *, on_error: str) -> None:
        self.db, self.begin, self.on_error = db, begin, on_error

    def __enter__(self) -> SqliteDb:
        self.db.conn.execute(self.begin)
        return self.db

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self.db.conn.execute("COMMIT" if kind is None else self.on_error)


def connect(
    db_path: str | Path,
    *,
    busy_timeout_ms: int = 30_000,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> SqliteDb:
    """Open (and migrate) the store: WAL, busy_timeout, foreign keys, explicit transactions."""
    folder = os.path.dirname(db_path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so writers queue on the
    # busy timeout instead of failing on a read-to-write lock upgrade.
    conn = sqlite3.connect(os.fspath(db_path), timeout=busy_timeout_ms / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    db = SqliteDb(conn)
    apply_migrations(db, migrations)
    return db


def migrate(db: SqliteDb) -> list[str]:
    """Apply the SQLite migrations the store lacks; return their names."""
    return apply_migrations(db, MIGRATIONS)


# The exception a failing statement raises, for callers that report store errors.
DatabaseError = sqlite3.Error
