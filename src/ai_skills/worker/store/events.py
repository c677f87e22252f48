"""The event log (`events`) and the named cursors of its consumers (`cursors`)."""

from __future__ import annotations

import time

from ai_skills.worker.store.id_lists import id_chunks

TYPE_CHECKING = False  # `typing` costs `worker status` milliseconds (benchmarks/worker_bench.py)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ai_skills.worker.store.backend import Db, Row

_WITH_ATTEMPT = (
    "SELECT e.*, a.number AS attempt_number FROM events e"
    " LEFT JOIN attempts a ON a.id = e.attempt_id"
)


def append_event(
    db: Db,
    *,
    kind: str,
    task_id: str | None,
    attempt_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    data: dict[str, Any] | None = None,
    now: float | None = None,
) -> int:
    """Append one event (call inside a transaction); return its sequence number.

    Watchers are told on commit (PostgreSQL's NOTIFY; a rolled-back event wakes nobody)."""
    import json  # here, not above: `worker status` reads events and must not load `re`

    seq = db.insert(
        "INSERT INTO events (at, task_id, attempt_id, kind, from_state, to_state, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            time.time() if now is None else now,
            task_id,
            attempt_id,
            kind,
            from_state,
            to_state,
            json.dumps(data or {}, sort_keys=True),
        ),
        returning="seq",
    )
    db.announce_event(seq)
    return seq


def events_after(db: Db, since: int, *, limit: int, task_id: str | None = None) -> list[Row]:
    """Events (with `attempt_number`) with seq greater than `since`, oldest first."""
    if task_id is None:
        return db.rows(_WITH_ATTEMPT + " WHERE e.seq > ? ORDER BY e.seq LIMIT ?", (since, limit))
    return db.rows(
        _WITH_ATTEMPT + " WHERE e.seq > ? AND e.task_id = ? ORDER BY e.seq LIMIT ?",
        (since, task_id, limit),
    )


def next_transition(db: Db, since: int) -> Row | None:
    """The first transition event (with `attempt_number`) after `since`."""
    return db.row(
        _WITH_ATTEMPT + " WHERE e.seq > ? AND e.kind = 'transition' ORDER BY e.seq LIMIT 1",
        (since,),
    )


def logged_states(db: Db) -> list[tuple[str, str, str | None]]:
    """Every task's id, its state, and the state its last transition event names."""
    rows = db.rows(
        "SELECT t.id, t.state, (SELECT e.to_state FROM events e WHERE e.task_id = t.id"
        " AND e.to_state IS NOT NULL ORDER BY e.seq DESC LIMIT 1) AS logged FROM tasks t"
    )
    return [(r["id"], r["state"], r["logged"]) for r in rows]


def event_count(db: Db) -> int:
    """How many events the log holds."""
    return int(db.value("SELECT COUNT(*) FROM events"))


def tasks_with_events_between(db: Db, start: float, end: float, *, besides: str) -> set[str]:
    """Tasks other than `besides` that logged an event between `start` and `end`."""
    rows = db.rows(
        "SELECT DISTINCT task_id FROM events WHERE task_id != ? AND at BETWEEN ? AND ?",
        (besides, start, end),
    )
    return {r["task_id"] for r in rows}


def entered_state_between(db: Db, start: float, end: float, states: tuple[str, ...]) -> bool:
    """True when some task moved to one of `states` between `start` and `end`."""
    marks = ", ".join("?" for _ in states)
    found = db.row(
        f"SELECT 1 AS hit FROM events WHERE at BETWEEN ? AND ? AND to_state IN ({marks}) LIMIT 1",
        (start, end, *states),
    )
    return found is not None


def load_cursor(db: Db, name: str) -> int:
    """The last seq a named consumer acknowledged (0 when new)."""
    seq = db.value("SELECT seq FROM cursors WHERE name = ?", (name,))
    return 0 if seq is None else int(seq)


def load_cursors(db: Db, names: tuple[str, ...]) -> dict[str, int]:
    """Several named cursors at once (0 for each one not set)."""
    marks = ", ".join("?" for _ in names)
    rows = db.rows(f"SELECT name, seq FROM cursors WHERE name IN ({marks})", names)
    found = {r["name"]: int(r["seq"]) for r in rows}
    return {name: found.get(name, 0) for name in names}


def set_cursor(db: Db, name: str, seq: int) -> None:
    """Move a named cursor to `seq` (inside the caller's transaction)."""
    db.run(
        "INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT (name)"
        " DO UPDATE SET seq = excluded.seq",
        (name, seq),
    )


def advance_cursor(db: Db, name: str, seq: int) -> None:
    """Move a named cursor forward to `seq`, never backwards (inside a transaction)."""
    db.run(
        "INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET"
        " seq = CASE WHEN excluded.seq > cursors.seq THEN excluded.seq ELSE cursors.seq END",
        (name, seq),
    )


def last_event_of(db: Db, task_id: str, kinds: tuple[str, ...]) -> Row | None:
    """The task's latest event of one of `kinds` (read backwards on the task's index)."""
    marks = ", ".join("?" for _ in kinds)
    return db.row(
        f"SELECT * FROM events WHERE task_id = ? AND kind IN ({marks}) ORDER BY seq DESC LIMIT 1",
        (task_id, *kinds),
    )


def last_push_rejected(db: Db, task_id: str) -> dict[str, Any] | None:
    """The data of the task's last push of its branch when the remote rejected it, else None
    (several hosts: run/remote_branch.py)."""
    row = last_event_of(db, task_id, ("branch_pushed", "push_rejected"))
    if row is None or row["kind"] != "push_rejected":
        return None
    import json  # only a rejected push pays for it

    data = json.loads(row["data"] or "{}")
    return data if isinstance(data, dict) else None


def push_rejections(db: Db, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`last_push_rejected` of many tasks in a query per CHUNK ids, by task; a task whose
    last push went through (or that never pushed) is absent."""
    found: dict[str, dict[str, Any]] = {}
    kinds = ("branch_pushed", "push_rejected")
    for marks, chunk in id_chunks(task_ids):
        rows = db.rows(
            "SELECT task_id, kind, data FROM events WHERE seq IN (SELECT MAX(seq) FROM events"
            f" WHERE task_id IN ({marks}) AND kind IN (?, ?) GROUP BY task_id)",
            (*chunk, *kinds),
        )
        for row in rows:
            if row["kind"] != "push_rejected":
                continue
            import json  # only a rejected push pays for it

            data = json.loads(row["data"] or "{}")
            if isinstance(data, dict):
                found[row["task_id"]] = data
    return found
