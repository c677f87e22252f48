"""The event log as a stream: a cursor (event seq), durable named cursors (hooks: hooks.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
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


def stream_events(
    conn: Db,
    *,
    since: int,
    follow: bool,
    poll: float = 0.5,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[Event]:
    """Events after `since`; with `follow`, keep waiting for new ones until `stop()`."""
    cursor = since
    while True:
        batch = read_events(conn, since=cursor)
        yield from batch
        if batch:
            cursor = batch[-1].seq
            continue
        if not follow or stop():
            return
        time.sleep(poll)


def load_cursor(conn: Db, name: str) -> int:
    """The last seq a named consumer acknowledged (0 when new)."""
    return event_rows.load_cursor(conn, name)


def save_cursor(conn: Db, name: str, seq: int) -> None:
    """Acknowledge events up to `seq` for a named consumer (never moves backwards)."""
    with transaction(conn):
        event_rows.advance_cursor(conn, name, seq)
