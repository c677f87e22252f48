"""Agent runs of tasks (`attempts`) and the snapshot taken before each (`attempt_snapshots`)."""

from __future__ import annotations

from ai_skills.worker.store.id_lists import id_chunks

TYPE_CHECKING = False  # `typing` costs `worker status` milliseconds (benchmarks/worker_bench.py)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ai_skills.worker.store.backend import Db, Row

# Columns that change while an attempt runs; the rest are fixed at admission.
_MUTABLE = frozenset(
    {
        "base_sha",
        "supervisor_pid",
        "supervisor_token",
        "agent_pid",
        "agent_token",
        "lease_until",
        "heartbeat_at",
        "progress_at",
        "log_size",
        "head_sha",
        "exit_code",
        "ended_at",
    }
)
_NEW_COLUMNS = (
    "task_id",
    "number",
    "worktree",
    "branch",
    "command",
    "prompt_file",
    "log_file",
    "lease_until",
    "heartbeat_at",
    "progress_at",
    "started_at",
)


def next_attempt_number(db: Db, task_id: str) -> int:
    """The number the task's next attempt gets (1 for its first)."""
    return 1 + int(
        db.value("SELECT COALESCE(MAX(number), 0) FROM attempts WHERE task_id = ?", (task_id,))
    )


def insert_attempt(db: Db, *, host: str | None = None, **columns: Any) -> int:
    """Add an attempt row (`columns`: task_id ... started_at, as stored) run by `host` (None:
    no host daemon); its id."""
    if set(columns) != set(_NEW_COLUMNS):
        raise ValueError(f"a new attempt needs exactly the columns {_NEW_COLUMNS}")
    names = (*_NEW_COLUMNS, "host")
    return db.insert(
        f"INSERT INTO attempts ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        (*(columns[name] for name in _NEW_COLUMNS), host),
    )


def update_attempt(db: Db, attempt_id: int, **fields: Any) -> None:
    """Set columns of an attempt (inside the caller's transaction)."""
    if not fields:
        return
    unknown = set(fields) - _MUTABLE
    if unknown:
        raise ValueError(f"not a changing column of attempts: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.run(f"UPDATE attempts SET {assignments} WHERE id = ?", (*fields.values(), attempt_id))


def attempt_row(db: Db, attempt_id: int) -> Row | None:
    """The attempt's row, if there is one."""
    return db.row("SELECT * FROM attempts WHERE id = ?", (attempt_id,))


def attempt_row_by_number(db: Db, task_id: str, number: int) -> Row | None:
    """The task's attempt with this number, if there is one."""
    return db.row("SELECT * FROM attempts WHERE task_id = ? AND number = ?", (task_id, number))


def attempt_row_by_log(db: Db, log_file: str) -> Row | None:
    """The attempt that writes this log file, if any."""
    return db.row("SELECT * FROM attempts WHERE log_file = ?", (log_file,))


def current_attempt_rows(db: Db, task_ids: Sequence[str]) -> list[Row]:
    """The current attempt of each of these tasks that has one."""
    return [
        row
        for marks, chunk in id_chunks(task_ids)
        for row in db.rows(
            "SELECT a.* FROM attempts a JOIN tasks t ON t.current_attempt = a.id"
            f" WHERE t.id IN ({marks})",
            chunk,
        )
    ]


def attempts_with_agents(db: Db, *, running_only: bool) -> list[Row]:
    """Attempts that started an agent (`running_only`: and have not ended), oldest first."""
    sql = "SELECT * FROM attempts WHERE agent_pid IS NOT NULL"
    if running_only:
        sql += " AND ended_at IS NULL"
    return db.rows(sql + " ORDER BY id")


def latest_attempt_id(db: Db, task_id: str) -> int | None:
    """The id of the task's newest attempt, if it had one."""
    found = db.value(
        "SELECT id FROM attempts WHERE task_id = ? ORDER BY number DESC LIMIT 1", (task_id,)
    )
    return None if found is None else int(found)


def earlier_worktree(db: Db, task_id: str, attempt_id: int) -> str | None:
    """Where the task's last attempt before `attempt_id` on the same host worked, if any.

    Only the same host's: another host's workspace is on that machine (several hosts sharing
    one file system must not move each other's). Only an attempt whose agent started worked
    anywhere: one refused before (a folder in the way that is not the task's) did not.
    """
    found = db.value(
        "SELECT a.worktree FROM attempts a JOIN attempts cur ON cur.id = ?"
        " WHERE a.task_id = ? AND a.id < cur.id AND a.agent_pid IS NOT NULL"
        " AND (a.host = cur.host OR (a.host IS NULL AND cur.host IS NULL))"
        " ORDER BY a.id DESC LIMIT 1",
        (attempt_id, task_id),
    )
    return None if found is None else str(found)


def agent_worked_in(db: Db, task_id: str, worktree: str) -> bool:
    """True when an attempt of the task started its agent in `worktree`."""
    return db.row(
        "SELECT 1 FROM attempts WHERE task_id = ? AND worktree = ? AND agent_pid IS NOT NULL",
        (task_id, worktree),
    ) is not None


def attempt_worktrees(db: Db, task_id: str) -> list[str]:
    """Every workspace path the task's attempts used."""
    rows = db.rows("SELECT worktree FROM attempts WHERE task_id = ?", (task_id,))
    return [r["worktree"] for r in rows]


def first_base_sha(db: Db, task_id: str) -> str | None:
    """The base commit the task's first attempt that recorded one started from."""
    found = db.value(
        "SELECT base_sha FROM attempts WHERE task_id = ? AND base_sha IS NOT NULL"
        " ORDER BY number LIMIT 1",
        (task_id,),
    )
    return None if found is None else str(found)


def tasks_running_between(db: Db, start: float, end: float, *, besides: str) -> set[str]:
    """Tasks other than `besides` with an attempt that ran some time between start and end."""
    rows = db.rows(
        "SELECT DISTINCT task_id FROM attempts WHERE task_id != ? AND started_at <= ?"
        " AND (ended_at IS NULL OR ended_at >= ?)",
        (besides, end, start),
    )
    return {r["task_id"] for r in rows}


def save_snapshot(db: Db, attempt_id: int, *, taken_at: float, data: str) -> None:
    """Store the attempt's snapshot (JSON text) unless it has one already."""
    db.run(
        "INSERT INTO attempt_snapshots (attempt_id, taken_at, data) VALUES (?, ?, ?)"
        " ON CONFLICT (attempt_id) DO NOTHING",
        (attempt_id, taken_at, data),
    )


def snapshot_row(db: Db, attempt_id: int) -> Row | None:
    """The attempt's snapshot (`taken_at`, `data`), if one was taken."""
    return db.row(
        "SELECT taken_at, data FROM attempt_snapshots WHERE attempt_id = ?", (attempt_id,)
    )
