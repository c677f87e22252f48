"""The review record of a task: approval bound to a SHA, feedback, change-request count."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from ai_skills.results import JsonResult
from ai_skills.worker.context import RepoContext
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import transaction
from ai_skills.worker.tasks import Task, get_task, list_tasks, transition
from ai_skills.worker.worktrees import branch_sha


@dataclass(frozen=True)
class Review(JsonResult):
    """What reviewers decided about a task so far."""

    task_id: str
    approved_sha: str | None = None
    approved_by: str | None = None  # "reviewer" or "human"
    approved_at: float | None = None
    gates_waived: str = ""
    feedback: str = ""
    change_requests: int = 0


def get_review(conn: sqlite3.Connection, task_id: str) -> Review:
    """The task's review record (an empty one when nobody reviewed it yet)."""
    row = conn.execute("SELECT * FROM reviews WHERE task_id = ?", (task_id,)).fetchone()
    return Review(task_id) if row is None else Review(**dict(row))


def _ensure(conn: sqlite3.Connection, task_id: str) -> None:
    conn.execute("INSERT OR IGNORE INTO reviews (task_id) VALUES (?)", (task_id,))


def record_approval(
    conn: sqlite3.Connection, task_id: str, *, sha: str, by: str, gates_waived: str
) -> None:
    """Bind an approval to `sha` (inside the caller's transaction)."""
    _ensure(conn, task_id)
    conn.execute(
        "UPDATE reviews SET approved_sha = ?, approved_by = ?, approved_at = ?,"
        " gates_waived = ?, feedback = '' WHERE task_id = ?",
        (sha, by, time.time(), gates_waived, task_id),
    )


def clear_approval(conn: sqlite3.Connection, task_id: str) -> None:
    """Forget the approval (inside the caller's transaction)."""
    _ensure(conn, task_id)
    conn.execute(
        "UPDATE reviews SET approved_sha = NULL, approved_by = NULL, approved_at = NULL,"
        " gates_waived = '' WHERE task_id = ?",
        (task_id,),
    )


def record_change_request(
    conn: sqlite3.Connection, task_id: str, feedback: str, *, count: bool = True
) -> int:
    """Store feedback for the next attempt; return the number of change requests so far."""
    _ensure(conn, task_id)
    conn.execute(
        "UPDATE reviews SET feedback = ?, change_requests = change_requests + ?,"
        " approved_sha = NULL, approved_by = NULL, approved_at = NULL WHERE task_id = ?",
        (feedback, int(count), task_id),
    )
    return get_review(conn, task_id).change_requests


def void_if_stale(ctx: RepoContext, conn: sqlite3.Connection, task: Task) -> Task:
    """Move an approved task back to in_review when its branch head is not the approved SHA.

    The branch is fetched from the task's clone first (workspace.sync_branch).
    """
    from ai_skills.worker.workspace import sync_branch

    if task.state not in (TaskState.APPROVED, TaskState.IN_REVIEW):
        return task
    sync_branch(ctx, task)
    if task.state != TaskState.APPROVED:
        return task
    approved = get_review(conn, task.id).approved_sha
    head = branch_sha(ctx.repo_root, task.branch)
    if head == approved:
        return task
    now = "deleted" if head is None else f"at {head[:12]}"
    with transaction(conn):
        fresh = get_task(conn, task.id)
        if fresh.state != TaskState.APPROVED or fresh.version != task.version:
            return fresh
        clear_approval(conn, task.id)
        return transition(
            conn,
            fresh,
            TaskState.IN_REVIEW,
            action="approval voided",
            reason=f"approval of {(approved or '?')[:12]} voided: {task.branch} is {now}",
            data={"approved_sha": approved, "head": head},
        )


def void_stale_approvals(ctx: RepoContext, conn: sqlite3.Connection) -> list[Task]:
    """`void_if_stale` for every approved task; the tasks sent back to in_review."""
    voided = []
    for task in list_tasks(conn, states={TaskState.APPROVED}):
        after = void_if_stale(ctx, conn, task)
        if after.state != TaskState.APPROVED:
            voided.append(after)
    return voided
