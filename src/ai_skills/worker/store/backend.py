"""What a store backend provides: the `Db` and `Row` the table-family modules are written to."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
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

    def announce_event(self, seq: int) -> None:
        """Tell waiting watchers about event `seq` once the current transaction commits
        (PostgreSQL: NOTIFY; SQLite: nothing, its watchers poll)."""
        ...

    def event_waiter(self) -> EventWaiter:
        """Something to wait on for new events: listening starts before it returns, so an
        event committed after this call wakes it (see EventWaiter)."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


@contextmanager
def transaction(db: Db) -> Iterator[Db]:
    """One write transaction taken up front; rolled back on any error."""
    with db.transaction():
        yield db


# Why EventWaiter.wait returned: a notification, a reconnection (notifications may have
# been missed: read everything after the cursor), the timeout, or `stop()`.
WAKE_REASONS = ("notify", "reconnect", "timeout", "stopped")
STOP_CHECK = 0.5  # seconds: how soon a waiter notices `stop()`


def wait_slices(timeout: float, stop: Callable[[], bool]) -> Iterator[float]:
    """The time left of `timeout`, in slices of at most STOP_CHECK seconds, while `stop()`
    does not hold: a waiter waits one slice per step."""
    deadline = time.monotonic() + timeout
    while not stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        yield min(left, STOP_CHECK)


class EventWaiter(Protocol):
    """A wake-up for event readers. Only a wake-up: readers always read from their cursor,
    so a lost or doubled wake-up costs a read, never an event."""

    mode: str  # "listen" (woken by the server) or "poll" (woken by the clock)
    poll_seconds: float  # the default longest wait between two reads
    transient: tuple[type[Exception], ...]  # errors of a lost connection: wait, then retry

    def wait(self, timeout: float, stop: Callable[[], bool]) -> str:
        """Block until a new event may be there, `timeout` passed or `stop()`; one of
        WAKE_REASONS."""
        ...

    def close(self) -> None:
        """Stop listening."""
        ...


class PollWaiter:
    """SQLite's waiter: the clock. Writers in other processes cannot wake a reader, so
    readers look again every `poll_seconds`."""

    mode = "poll"
    poll_seconds = 0.5
    transient: tuple[type[Exception], ...] = ()

    def wait(self, timeout: float, stop: Callable[[], bool]) -> str:
        """Sleep `timeout` seconds (in slices, to notice `stop()`)."""
        for step in wait_slices(timeout, stop):
            time.sleep(step)
        return "stopped" if stop() else "timeout"

    def close(self) -> None:
        """Nothing to close."""
