"""The PostgreSQL backend (psycopg 3): connect() and `PostgresDb`, PostgreSQL's dialect.

Imported only when a PostgreSQL URL is configured (store/opening.py): the SQLite path and
the commands that must start fast never load psycopg.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.adapt import Dumper

from ai_skills.worker.store.backend import Params, Row
from ai_skills.worker.store.migrations import Migration, apply_migrations
from ai_skills.worker.store.postgres_notify import Listener, notify_event
from ai_skills.worker.store.postgres_schema import LEDGER, MIGRATIONS, OWNER_TABLE

# pg_advisory_xact_lock key every write transaction takes first: one writer at a time, as
# SQLite's BEGIN IMMEDIATE gives (the worker's read-check-write steps rely on it).
WRITER_LOCK = 0x776F726B6572  # "worker"
LOCK_TIMEOUT_MS = 30_000  # as SQLite's busy_timeout: a stuck writer is an error, not a hang


class OwnerMismatchError(Exception):
    """The database belongs to another repository (its id and ours)."""

    def __init__(self, *, theirs: str, ours: str) -> None:
        super().__init__(theirs, ours)
        self.theirs = theirs
        self.ours = ours


class PgRow(tuple[Any, ...]):
    """A row read like sqlite3.Row: `row[0]`, `row["name"]`, `dict(row)`, equal to a tuple."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                raise IndexError(f"no column named {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    names = [column.name for column in cursor.description or ()]
    index = {name: position for position, name in reversed(list(enumerate(names)))}

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row._index = index
        return row

    return make


class _BoolAsInteger(Dumper):
    """Booleans go into the INTEGER (BIGINT) flag columns as 0/1, as SQLite stores them."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """`?` placeholders to psycopg's `%s`, a literal `%` to `%%`; quoted text is left alone
    except for `%` (psycopg reads `%` everywhere in a statement that has parameters)."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if char == "%":
            out.append("%%")
        elif quote:
            out.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


class PostgresDb:
    """A PostgreSQL connection as the table-family modules use it (the `Db` of backend.py).

    Autocommit outside `transaction()` and `snapshot()`, as the SQLite backend. The daemon
    and the supervisors hold their connection for hours; when the server dropped it (a
    restart, an idle timeout), the statement that finds out fails and the next one, outside
    a transaction, runs on a new connection.
    """

    def __init__(
        self, conn: psycopg.Connection[Any], reopen: Callable[[], psycopg.Connection[Any]]
    ) -> None:
        self.conn = conn
        self._reopen = reopen
        self._in_transaction = False

    def _live(self) -> psycopg.Connection[Any]:
        if self.conn.broken and not self._in_transaction:
            self.conn = self._reopen()
        return self.conn

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[Any]:
        """A raw statement: for migrations and tests, never for the rest of the worker.

        Without parameters the statement goes as written (DDL with `$body$`, `%`)."""
        conn = self._live()
        if not params:
            return conn.execute(sql.encode())
        return conn.execute(translate(sql).encode(), tuple(params))

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        return list(self.execute(sql, params).fetchall())

    def row(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, if any."""
        found: Row | None = self.execute(sql, params).fetchone()
        return found

    def value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row of a query (None when there is no row)."""
        found = self.execute(sql, params).fetchone()
        return None if found is None else found[0]

    def run(self, sql: str, params: Params = ()) -> int:
        """Run a write statement; the number of rows it changed."""
        return int(self.execute(sql, params).rowcount)

    def insert(self, sql: str, params: Params = (), *, returning: str = "id") -> int:
        """Run an INSERT into a table with a generated key; that key (`RETURNING`)."""
        found = self.execute(f"{sql} RETURNING {returning}", params).fetchone()
        return int(found[0]) if found else 0

    @contextmanager
    def transaction(self) -> Iterator[PostgresDb]:
        """One write transaction that waits for every other writer first (the writer lock);
        rolled back on any error."""
        with self._block():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            yield self

    @contextmanager
    def snapshot(self) -> Iterator[PostgresDb]:
        """One consistent read of several queries (REPEATABLE READ, read-only)."""
        with self._block():
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield self

    @contextmanager
    def _block(self) -> Iterator[None]:
        conn = self._live()
        with conn.transaction():
            self._in_transaction = True
            try:
                yield
            finally:
                self._in_transaction = False

    def integrity_problem(self) -> str | None:
        """None: PostgreSQL checks its pages itself and has no quick_check to ask."""
        return None

    def issued_keys(self, table: str) -> int:
        """The highest generated key a table ever handed out (deleted rows included)."""
        found = self.value("SELECT issued FROM issued_keys WHERE name = ?", (table,))
        return int(found or 0)

    def has_table(self, name: str) -> bool:
        """True when the table exists (in the schema the connection uses)."""
        found = self.value("SELECT to_regclass(?) IS NOT NULL", (name,))
        return bool(found)

    def announce_event(self, seq: int) -> None:
        """NOTIFY listeners of event `seq`, in the current transaction (sent on commit)."""
        notify_event(self._live(), seq)

    def event_waiter(self) -> Listener:
        """A LISTEN on a connection of its own (postgres_notify.py)."""
        return Listener(self._reopen)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def connect(
    url: str,
    *,
    repository: str,
    password_from_environment: bool,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> PostgresDb:
    """Open (and migrate) the store at `url` for `repository` (refused when another owns it).

    `password_from_environment=False` (a URL from `.worker.toml`): libpq may not send
    PGPASSWORD, only a password from the password file; the file arrives in pull requests and
    could name anybody's server.
    """
    extra: dict[str, Any] = {} if password_from_environment else {"password": ""}

    def reopen() -> psycopg.Connection[Any]:
        conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory, **extra)
        conn.adapters.register_dumper(bool, _BoolAsInteger)
        conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        return conn

    db = PostgresDb(reopen(), reopen)
    try:
        apply_migrations(db, migrations, ledger=LEDGER)
        claim(db, repository)
    except BaseException:
        db.close()
        raise
    return db


def database_owner(url: str, *, password_from_environment: bool) -> str | None:
    """The repository id that owns the database at `url` (None: nobody claimed it yet)."""
    extra: dict[str, Any] = {} if password_from_environment else {"password": ""}
    with psycopg.connect(url, autocommit=True, **extra) as conn:
        table = conn.execute("SELECT to_regclass('worker_repository')").fetchone()
        if table is None or table[0] is None:
            return None
        found = conn.execute("SELECT repository FROM worker_repository").fetchone()
    return None if found is None else str(found[0])


def claim(db: PostgresDb, repository: str) -> None:
    """Record `repository` as the database's owner, or raise when another one owns it."""
    owner = None
    if db.has_table("worker_repository"):
        owner = db.value("SELECT repository FROM worker_repository")
    if owner is None:
        with db.transaction():
            db.execute(OWNER_TABLE)
            db.run(
                "INSERT INTO worker_repository (repository, claimed_at) VALUES (?, ?)"
                " ON CONFLICT (only_row) DO NOTHING",
                (repository, time.time()),
            )
            owner = db.value("SELECT repository FROM worker_repository")
    if owner != repository:
        raise OwnerMismatchError(theirs=str(owner), ours=repository)


# The exception a failing statement raises, for callers that report store errors.
DatabaseError = psycopg.Error
