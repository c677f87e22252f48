"""Tasks and attempts in the store: each state change is a CAS plus an event, in one transaction."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_skills.worker.errors import (
    ConcurrentUpdateError,
    DuplicateTaskError,
    IllegalTransitionError,
    InvalidTaskIdError,
    TaskNotFoundError,
)
from ai_skills.worker.states import TERMINAL, TaskState, can_transition
from ai_skills.worker.store import append_event, recall_result, remember_result, transaction

_TASK_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Task:
    """One logical unit of work."""

    id: str
    title: str
    description: str
    scopes: list[str]
    base: str
    priority: int
    runtime: str | None
    runtime_command: list[str] | None
    state: TaskState
    version: int
    reason: str
    branch: str
    start_requested: bool
    waiting_reason: str
    current_attempt: int | None
    worktree: str | None
    worktree_removed: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Attempt:
    """One agent run of a task."""

    id: int
    task_id: str
    number: int
    worktree: str
    branch: str
    base_sha: str | None
    command: list[str]
    prompt_file: str | None
    log_file: str
    supervisor_pid: int | None
    supervisor_token: str | None
    agent_pid: int | None
    agent_token: str | None
    lease_until: float | None
    heartbeat_at: float | None
    progress_at: float | None
    log_size: int
    head_sha: str | None
    exit_code: int | None
    started_at: float
    ended_at: float | None


@dataclass(frozen=True)
class NewTask:
    """What `worker add` asks for."""

    task_id: str
    title: str
    base: str
    description: str = ""
    scopes: list[str] = field(default_factory=list)
    priority: int = 0
    runtime: str | None = None
    runtime_command: list[str] | None = None
    profile: str | None = None  # runtime profiles (profiles.py)
    fallback: list[str] = field(default_factory=list)


def validate_task_id(task_id: str) -> str:
    """The id itself, or InvalidTaskIdError (ids become branch and directory names).

    Beyond the character set, git's ref rules (`git check-ref-format`) for `worker/ID`:
    no `..`, not ending in `.lock` or `.`; such an id could be added but never started.
    """
    if not _TASK_ID.match(task_id) or task_id.endswith((".lock", ".")) or ".." in task_id:
        raise InvalidTaskIdError(task_id=task_id)
    return task_id


def task_from_row(row: sqlite3.Row) -> Task:
    """A Task from a `tasks` row."""
    d = dict(row)
    d["scopes"] = json.loads(d["scopes"])
    d["runtime_command"] = json.loads(d["runtime_command"]) if d["runtime_command"] else None
    d["state"] = TaskState(d["state"])
    d["start_requested"] = bool(d["start_requested"])
    d["worktree_removed"] = bool(d["worktree_removed"])
    return Task(**d)


def attempt_from_row(row: sqlite3.Row) -> Attempt:
    """An Attempt from an `attempts` row."""
    d = dict(row)
    d["command"] = json.loads(d["command"])
    return Attempt(**d)


def add_task(
    conn: sqlite3.Connection, new: NewTask, *, key: str | None = None, now: float | None = None
) -> Task:
    """Record a new task in `queued`; refuse a duplicate id (unless `key` says it is a retry)."""
    validate_task_id(new.task_id)
    now = time.time() if now is None else now
    with transaction(conn):
        earlier = recall_result(conn, key)
        if earlier is not None:
            return get_task(conn, str(earlier["task_id"]))
        existing = conn.execute("SELECT state FROM tasks WHERE id = ?", (new.task_id,)).fetchone()
        if existing is not None:
            raise DuplicateTaskError(task_id=new.task_id, state=existing[0])
        conn.execute(
            "INSERT INTO tasks (id, title, description, scopes, base, priority, runtime,"
            " runtime_command, state, branch, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.task_id,
                new.title,
                new.description,
                json.dumps(new.scopes),
                new.base,
                new.priority,
                new.runtime,
                json.dumps(new.runtime_command) if new.runtime_command else None,
                TaskState.QUEUED.value,
                f"worker/{new.task_id}",
                now,
                now,
            ),
        )
        append_event(
            conn,
            kind="added",
            task_id=new.task_id,
            to_state=TaskState.QUEUED.value,
            data={"title": new.title, "base": new.base, "scopes": new.scopes},
            now=now,
        )
        if new.profile or new.fallback:
            from ai_skills.worker.profiles import set_task_profiles

            set_task_profiles(conn, new.task_id, profile=new.profile, fallback=new.fallback)
        remember_result(conn, key, "add", {"task_id": new.task_id})
    return get_task(conn, new.task_id)


def get_task(conn: sqlite3.Connection, task_id: str) -> Task:
    """The task with this id, or TaskNotFoundError."""
    row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise TaskNotFoundError(task_id=task_id)
    return task_from_row(row)


def list_tasks(
    conn: sqlite3.Connection,
    *,
    states: set[TaskState] | None = None,
    recent_final: int | None = None,
) -> list[Task]:
    """Tasks in creation order, optionally only those in `states`; with `recent_final`, of
    the tasks in a final state (merged, cancelled, failed) only that many, the last changed."""
    where: list[str] = []
    params: list[object] = []
    if states is not None:
        where.append(f"state IN ({', '.join('?' * len(states))})")
        params += [state.value for state in states]
    if recent_final is not None:
        # A long-lived repository holds thousands of merged tasks; `status` shows the live ones.
        final = [state.value for state in TERMINAL]
        marks = ", ".join("?" * len(final))
        where.append(
            f"(state NOT IN ({marks}) OR id IN (SELECT id FROM tasks WHERE state IN ({marks})"
            " ORDER BY updated_at DESC, id LIMIT ?))"
        )
        params += [*final, *final, recent_final]
    sql = "SELECT * FROM tasks" + (f" WHERE {' AND '.join(where)}" if where else "")
    rows = conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
    return [task_from_row(r) for r in rows]


def count_tasks(conn: sqlite3.Connection) -> int:
    """How many tasks the store holds."""
    return int(conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])


def get_attempt(conn: sqlite3.Connection, attempt_id: int | None) -> Attempt | None:
    """The attempt with this id, or None."""
    if attempt_id is None:
        return None
    row = conn.execute("SELECT * FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
    return None if row is None else attempt_from_row(row)


def earlier_workspace(conn: sqlite3.Connection, task_id: str, attempt_id: int) -> Path | None:
    """Where the attempt before `attempt_id` of a task worked (`worktree_dir` may change)."""
    row = conn.execute(
        "SELECT worktree FROM attempts WHERE task_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
        (task_id, attempt_id),
    ).fetchone()
    return Path(row[0]) if row else None


def transition(
    conn: sqlite3.Connection,
    task: Task,
    target: TaskState,
    *,
    action: str,
    reason: str = "",
    attempt_id: int | None = None,
    data: dict[str, Any] | None = None,
    now: float | None = None,
) -> Task:
    """Move `task` (as read in this transaction) to `target`: CAS on version, plus an event."""
    if not can_transition(task.state, target):
        raise IllegalTransitionError(
            task_id=task.id, current=task.state.value, target=target.value, action=action
        )
    now = time.time() if now is None else now
    cur = conn.execute(
        "UPDATE tasks SET state = ?, version = version + 1, reason = ?, updated_at = ?,"
        " waiting_reason = '' WHERE id = ? AND version = ?",
        (target.value, reason, now, task.id, task.version),
    )
    if cur.rowcount != 1:
        raise ConcurrentUpdateError(task_id=task.id)
    append_event(
        conn,
        kind="transition",
        task_id=task.id,
        attempt_id=attempt_id if attempt_id is not None else task.current_attempt,
        from_state=task.state.value,
        to_state=target.value,
        data={"action": action, "reason": reason, **(data or {})},
        now=now,
    )
    return get_task(conn, task.id)


def change_state(
    conn: sqlite3.Connection,
    task_id: str,
    target: TaskState,
    *,
    action: str,
    reason: str = "",
    only_attempt: int | None = None,
    now: float | None = None,
) -> Task | None:
    """Read and transition in one transaction; None when `only_attempt` is no longer current."""
    with transaction(conn):
        task = get_task(conn, task_id)
        if only_attempt is not None and task.current_attempt != only_attempt:
            return None
        return transition(conn, task, target, action=action, reason=reason, now=now)


def record_event(
    conn: sqlite3.Connection,
    *,
    kind: str,
    task_id: str | None,
    attempt_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append an event that changes no state, in its own transaction."""
    with transaction(conn):
        return append_event(conn, kind=kind, task_id=task_id, attempt_id=attempt_id, data=data)


def update_attempt(conn: sqlite3.Connection, attempt_id: int, **fields: Any) -> None:
    """Set columns of an attempt (inside the caller's transaction)."""
    if not fields:
        return
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(f"UPDATE attempts SET {assignments} WHERE id = ?", (*fields.values(), attempt_id))


def mark_step(
    conn: sqlite3.Connection,
    task_id: str,
    name: str,
    *,
    attempt_id: int = 0,
    done: bool,
    detail: str = "",
) -> None:
    """Checkpoint a side-effect step as started or done (inside the caller's transaction)."""
    now = time.time()
    conn.execute(
        "INSERT INTO steps (task_id, attempt_id, name, started_at, done_at, detail)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, attempt_id, name) DO UPDATE SET"
        " done_at = excluded.done_at, detail = excluded.detail",
        (task_id, attempt_id, name, now, now if done else None, detail),
    )


def step_done(conn: sqlite3.Connection, task_id: str, name: str, *, attempt_id: int = 0) -> bool:
    """True when a checkpointed step has completed."""
    row = conn.execute(
        "SELECT done_at FROM steps WHERE task_id = ? AND attempt_id = ? AND name = ?",
        (task_id, attempt_id, name),
    ).fetchone()
    return row is not None and row[0] is not None


def unfinished_steps(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Steps that were started and never completed."""
    return conn.execute("SELECT * FROM steps WHERE done_at IS NULL ORDER BY started_at").fetchall()
