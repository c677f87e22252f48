"""Tasks and attempts in the store: each state change is a CAS plus an event, in one transaction."""

from __future__ import annotations

import json
import re
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
from ai_skills.worker.store import (
    Db,
    Row,
    append_event,
    recall_result,
    remember_result,
    transaction,
)
from ai_skills.worker.store import attempts as attempt_rows
from ai_skills.worker.store import profiles as profile_rows
from ai_skills.worker.store import tasks as task_rows

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
    needs: list[str] = field(default_factory=list)  # labels a host must have to run it
    host: str | None = None  # the host daemon that claimed it last (None: one machine)


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
    host: str | None = None  # the host daemon that runs it (None: one machine)


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
    needs: list[str] = field(default_factory=list)  # labels (hosts.py), checked by intake


def validate_task_id(task_id: str) -> str:
    """The id itself, or InvalidTaskIdError (ids become branch and directory names).

    Beyond the character set, git's ref rules (`git check-ref-format`) for `worker/ID`:
    no `..`, not ending in `.lock` or `.`; such an id could be added but never started.
    """
    if not _TASK_ID.match(task_id) or task_id.endswith((".lock", ".")) or ".." in task_id:
        raise InvalidTaskIdError(task_id=task_id)
    return task_id


def task_from_row(row: Row) -> Task:
    """A Task from a `tasks` row."""
    d = dict(row)
    d["scopes"] = json.loads(d["scopes"])
    d["needs"] = json.loads(d["needs"])
    d["runtime_command"] = json.loads(d["runtime_command"]) if d["runtime_command"] else None
    d["state"] = TaskState(d["state"])
    d["start_requested"] = bool(d["start_requested"])
    d["worktree_removed"] = bool(d["worktree_removed"])
    return Task(**d)


def attempt_from_row(row: Row) -> Attempt:
    """An Attempt from an `attempts` row."""
    d = dict(row)
    d["command"] = json.loads(d["command"])
    return Attempt(**d)


def add_task(
    conn: Db, new: NewTask, *, key: str | None = None, now: float | None = None
) -> Task:
    """Record a new task in `queued`; refuse a duplicate id (unless `key` says it is a retry)."""
    validate_task_id(new.task_id)
    now = time.time() if now is None else now
    with transaction(conn):
        earlier = recall_result(conn, key)
        if earlier is not None:
            return get_task(conn, str(earlier["task_id"]))
        existing = task_rows.task_row(conn, new.task_id)
        if existing is not None:
            raise DuplicateTaskError(task_id=new.task_id, state=existing["state"])
        task_rows.insert_task(
            conn,
            id=new.task_id,
            title=new.title,
            description=new.description,
            scopes=json.dumps(new.scopes),
            base=new.base,
            priority=new.priority,
            runtime=new.runtime,
            runtime_command=json.dumps(new.runtime_command) if new.runtime_command else None,
            state=TaskState.QUEUED.value,
            branch=f"worker/{new.task_id}",
            created_at=now,
            updated_at=now,
            needs=json.dumps(new.needs),
        )
        added: dict[str, Any] = {"title": new.title, "base": new.base, "scopes": new.scopes}
        if new.needs:
            added["needs"] = new.needs
        append_event(
            conn,
            kind="added",
            task_id=new.task_id,
            to_state=TaskState.QUEUED.value,
            data=added,
            now=now,
        )
        if new.profile or new.fallback:
            profile_rows.set_task_profiles(
                conn, new.task_id, profile=new.profile, fallback=json.dumps(new.fallback)
            )
        remember_result(conn, key, "add", {"task_id": new.task_id})
    return get_task(conn, new.task_id)


def get_task(conn: Db, task_id: str) -> Task:
    """The task with this id, or TaskNotFoundError."""
    row = task_rows.task_row(conn, task_id)
    if row is None:
        raise TaskNotFoundError(task_id=task_id)
    return task_from_row(row)


def list_tasks(
    conn: Db,
    *,
    states: set[TaskState] | None = None,
    recent_final: int | None = None,
) -> list[Task]:
    """Tasks in creation order, optionally only those in `states`; with `recent_final`, of
    the tasks in a final state (merged, cancelled, failed) only that many, the last changed."""
    rows = task_rows.task_rows(
        conn,
        states=None if states is None else sorted(state.value for state in states),
        final_states=sorted(state.value for state in TERMINAL),
        recent_final=recent_final,
    )
    return [task_from_row(r) for r in rows]


def count_tasks(conn: Db) -> int:
    """How many tasks the store holds."""
    return task_rows.count_tasks(conn)


def get_attempt(conn: Db, attempt_id: int | None) -> Attempt | None:
    """The attempt with this id, or None."""
    if attempt_id is None:
        return None
    row = attempt_rows.attempt_row(conn, attempt_id)
    return None if row is None else attempt_from_row(row)


def earlier_workspace(conn: Db, task_id: str, attempt_id: int) -> Path | None:
    """Where the attempt before `attempt_id` of a task worked (`worktree_dir` may change)."""
    found = attempt_rows.earlier_worktree(conn, task_id, attempt_id)
    return None if found is None else Path(found)


def transition(
    conn: Db,
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
    if not task_rows.compare_and_set_state(
        conn, task.id, version=task.version, state=target.value, reason=reason, now=now
    ):
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
    conn: Db,
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
    conn: Db,
    *,
    kind: str,
    task_id: str | None,
    attempt_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append an event that changes no state, in its own transaction."""
    with transaction(conn):
        return append_event(conn, kind=kind, task_id=task_id, attempt_id=attempt_id, data=data)


def update_attempt(conn: Db, attempt_id: int, **fields: Any) -> None:
    """Set columns of an attempt (inside the caller's transaction)."""
    attempt_rows.update_attempt(conn, attempt_id, **fields)


def mark_step(
    conn: Db,
    task_id: str,
    name: str,
    *,
    attempt_id: int = 0,
    done: bool,
    detail: str = "",
) -> None:
    """Checkpoint a side-effect step as started or done (inside the caller's transaction)."""
    task_rows.mark_step(
        conn, task_id, attempt_id, name, now=time.time(), done=done, detail=detail
    )


def step_done(conn: Db, task_id: str, name: str, *, attempt_id: int = 0) -> bool:
    """True when a checkpointed step has completed."""
    return task_rows.step_done(conn, task_id, attempt_id, name)


def unfinished_steps(conn: Db) -> list[Row]:
    """Steps that were started and never completed."""
    return task_rows.unfinished_steps(conn)
