"""LISTEN/NOTIFY for the event log: `notify_event` (the writer's side) and `Listener`.

Each database holds one repository's store, so one fixed channel name is enough; nothing
read from a task, a config file or the network goes into it. The payload is the event's
seq, and only a hint: readers read from their own cursor whatever a notification says.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import psycopg

from ai_skills.worker.store.backend import wait_slices

CHANNEL = "worker_events"
LISTEN_POLL = 5.0  # seconds: read anyway this often (a hook lease may have run out)


def notify_event(conn: psycopg.Connection[Any], seq: int) -> None:
    """NOTIFY the channel with `seq`: inside a transaction, delivered only if it commits."""
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(seq)))


class Listener:
    """A connection of its own that LISTENs on the channel (the EventWaiter of backend.py).

    A connection the server dropped (a restart, pg_terminate_backend, the network) is
    opened again inside `wait`, which then returns "reconnect": notifications sent while
    nobody listened are gone, so the reader must read everything after its cursor.
    """

    mode = "listen"
    poll_seconds = LISTEN_POLL
    transient: tuple[type[Exception], ...] = (psycopg.OperationalError,)

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._connect = connect
        self._conn: psycopg.Connection[Any] | None = None
        self._open()

    def _open(self) -> bool:
        """Connect and LISTEN; False when the server cannot be reached now."""
        try:
            conn = self._connect()
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError:
            return False
        self._conn = conn
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def wait(self, timeout: float, stop: Callable[[], bool]) -> str:
        """Until a notification comes, the connection is back, `timeout` or `stop()`."""
        for step in wait_slices(timeout, stop):
            if self._conn is None:
                if self._open():
                    return "reconnect"
                time.sleep(step)
                continue
            try:
                if list(self._conn.notifies(timeout=step, stop_after=1)):
                    # Whatever else is already queued says the same: one read for all.
                    list(self._conn.notifies(timeout=0))
                    return "notify"
            except psycopg.OperationalError:
                self._drop()
        return "stopped" if stop() else "timeout"

    def close(self) -> None:
        """Stop listening and close the connection."""
        self._drop()
