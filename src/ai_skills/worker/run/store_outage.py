"""Riding out a store that is away for a while (a PostgreSQL restart or fail-over).

A supervisor must not die with its store: its agent would go with it (a sandbox ends with
its parent), and the work in progress with the agent. It keeps the agent running, says once
in its log that the store is unreachable, and tries again; the lease it could not renew
meanwhile is only evidence for the others, who cannot reach the store either.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from ai_skills.worker.errors import StoreUnavailableError

T = TypeVar("T")

RETRY_SECONDS = 1.0
# How long a supervisor or a launch waits for its store to come back before it gives up (and
# `reconcile` or the next liveness pass takes over from what the store last knew).
PATIENCE = 600.0


def store_errors() -> tuple[type[Exception], ...]:
    """What a statement or a connection raises while the store is away (a server that
    restarts, a connection it closed, a database locked too long). A statement the store
    refuses for what it says (a constraint) is not among them: waiting would not change its
    answer. SQLite raises OperationalError for SQL it cannot parse too, so with SQLite a
    statement of ours that is wrong waits out `PATIENCE` before its error goes up."""
    import sqlite3

    away: list[type[Exception]] = [StoreUnavailableError, sqlite3.OperationalError]
    if "psycopg" in sys.modules:
        psycopg = sys.modules["psycopg"]
        away += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(away)


def note_outage(what: str, exc: Exception) -> None:
    """One line in the supervisor's log: what waits, and why."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    print(f"worker: {what}: the store is unreachable ({first}); trying again", file=sys.stderr,
          flush=True)  # fmt: skip


def outlast(call: Callable[[], T], *, what: str, patience: float = PATIENCE) -> T:
    """`call()`, tried again every second while the store is away, for up to `patience`
    seconds; then its error goes up."""
    deadline = time.monotonic() + patience
    noted = False
    while True:
        try:
            return call()
        except store_errors() as exc:
            if time.monotonic() >= deadline:
                raise
            if not noted:
                note_outage(what, exc)
                noted = True
            time.sleep(RETRY_SECONDS)
