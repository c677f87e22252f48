"""What a store backend provides: the `Db` and `Row` the table-family modules are written to."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Params = Sequence[Any]


class Row(Protocol):
    """A result row: columns by name (`row["id"]`); `dict(row)` gives all of them."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Db(Protocol):
    """A connection as the table-family modules use it (SQLite's or PostgreSQL's).

    The family modules write portable SQL with `?` placeholders and `ON CONFLICT` upserts;
    what differs between databases (ids of inserted rows, how a write transaction starts,
    integrity checks, sequence counters) is a method here.
    """

    def rows(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        ...

    def row(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, if any."""
        ...

    def value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row of a query (None when there is no row)."""
        ...

    def run(self, sql: str, params: Params = ()) -> int:
        """Run a write statement; the number of rows it changed."""
        ...

    def insert(self, sql: str, params: Params = (), *, returning: str = "id") -> int:
        """Run an INSERT into a table with a generated key; that key."""
        ...

    def execute(self, sql: str, params: Params = ()) -> Any:
        """A raw statement: for migrations and tests, never for the rest of the worker."""
        ...

    def transaction(self) -> AbstractContextManager[Db]:
        """One write transaction taken up front, serialised with every other writer."""
        ...

    def snapshot(self) -> AbstractContextManager[Db]:
        """One consistent read of several queries."""
        ...

    def integrity_problem(self) -> str | None:
        """What the database's own consistency check found wrong, or None."""
        ...

    def issued_keys(self, table: str) -> int:
        """The highest generated key a table ever handed out (deleted rows included)."""
        ...

    def has_table(self, name: str) -> bool:
        """True when the table exists."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...
