"""The event log as a stream: a cursor (event seq), durable named cursors (hooks: hooks.py)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ai_skills.util.results import JsonResult
from ai_skills.worker.store import Db, Row, transaction
from ai_skills.worker.store import events as event_rows


@dataclass(frozen=True)
class Event(JsonResult):
    """One entry of the append-only event log."""

    seq: int
    at: float
    task_id: str | None
    attempt_id: int | None
    kind: str
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]
    attempt: int | None = None  # the task's own attempt number; attempt_id is the store's id

    @property
    def is_transition(self) -> bool:
        """True for a state change (the events hooks run on)."""
        return self.kind == "transition"


def read_events(
    conn: Db, *, since: int = 0, limit: int = 1000, task_id: str | None = None
) -> list[Event]:
    """Events with seq greater than `since`, oldest first."""
    rows = event_rows.events_after(conn, since, limit=limit, task_id=task_id)
    return [event_from_row(r) for r in rows]


def event_from_row(row: Row) -> Event:
    """An Event from an `events` row joined with its attempt's number (`attempt_number`)."""
    return Event(
        row["seq"],
        row["at"],
        row["task_id"],
        row["attempt_id"],
        row["kind"],
        row["from_state"],
        row["to_state"],
        json.loads(row["data"]),
        row["attempt_number"],
    )


RETRY_SECONDS = 1.0  # with --follow, how soon a read is tried again while the store is away


def stream_events(
    conn: Db,
    *,
    since: int,
    follow: bool,
    poll: float | None = None,
    stop: Callable[[], bool] = lambda: False,
    name: str | None = None,
    between: Callable[[], None] | None = None,
    trace: Callable[[str], None] = lambda _line: None,
    unreachable: Callable[[Exception], None] = lambda _exc: None,
) -> Generator[Event, None, None]:
    """Events after `since`; with `follow`, keep waiting for new ones until `stop()`.

    The cursor decides what comes next, never a wake-up: SQLite's waiter looks again every
    `poll` seconds (default 0.5); PostgreSQL's wakes on each committed event (NOTIFY) and
    reads at least every `poll` seconds (default 5) in case one was lost. With `follow`,
    a lost connection (a server restart) is waited out: `unreachable(error)` once, then
    the read is retried. `name` keeps the cursor in the store, saved after each batch;
    `between()` runs after each read (hooks); `trace` gets "waiting (MODE)" and
    "woke (REASON)" lines.
    """
    waiter = conn.event_waiter() if follow else None  # listening before the first read
    interval = poll if poll is not None else (waiter.poll_seconds if waiter else 0.0)
    transient = waiter.transient if waiter else ()
    cursor = saved = since
    failures = 0
    try:
        while True:
            try:
                batch = read_events(conn, since=cursor)
                for event in batch:
                    yield event
                    cursor = event.seq
                if name and cursor != saved:
                    save_cursor(conn, name, cursor)
                    saved = cursor
                if between is not None:
                    between()
                failures = 0
            except transient as exc:
                # The statement that finds a dropped connection fails; the next one opens
                # a new connection. Only a second failure means the server is away.
                failures += 1
                if failures == 1:
                    continue
                if failures == 2:
                    unreachable(exc)
                batch = []
            if batch:
                continue
            if waiter is None or stop():
                return
            trace(f"waiting ({waiter.mode})")
            wait = min(interval, RETRY_SECONDS) if failures else interval
            trace(f"woke ({waiter.wait(wait, stop)})")
    finally:
        if waiter is not None:
            waiter.close()
        if name and cursor != saved:
            # On the way out a store that went away only costs a repeat of these events.
            with contextlib.suppress(*transient):
                save_cursor(conn, name, cursor)


def load_cursor(conn: Db, name: str) -> int:
    """The last seq a named consumer acknowledged (0 when new)."""
    return event_rows.load_cursor(conn, name)


def save_cursor(conn: Db, name: str, seq: int) -> None:
    """Acknowledge events up to `seq` for a named consumer (never moves backwards)."""
    with transaction(conn):
        event_rows.advance_cursor(conn, name, seq)
