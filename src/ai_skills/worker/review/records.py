"""The review record of a task: approval bound to a SHA, feedback, change-request count."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ai_skills.util.results import JsonResult
from ai_skills.worker.context import RepoContext
from ai_skills.worker.run.worktrees import branch_sha
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.store import reviews as review_rows
from ai_skills.worker.tasks import Task, get_task, transition


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


def get_review(conn: Db, task_id: str) -> Review:
    """The task's review record (an empty one when nobody reviewed it yet)."""
    row = review_rows.review_row(conn, task_id)
    return Review(task_id) if row is None else Review(**dict(row))


def record_approval(
    conn: Db, task_id: str, *, sha: str, by: str, gates_waived: str
) -> None:
    """Bind an approval to `sha` (inside the caller's transaction)."""
    review_rows.approve(conn, task_id, sha=sha, by=by, at=time.time(), gates_waived=gates_waived)


def clear_approval(conn: Db, task_id: str) -> None:
    """Forget the approval (inside the caller's transaction)."""
    review_rows.clear_approval(conn, task_id)


def record_change_request(
    conn: Db, task_id: str, feedback: str, *, count: bool = True
) -> int:
    """Store feedback for the next attempt; return the number of change requests so far."""
    review_rows.request_changes(conn, task_id, feedback, count=count)
    return get_review(conn, task_id).change_requests


def void_if_stale(
    ctx: RepoContext, conn: Db, task: Task, *, remote: str | None = None
) -> Task:
    """Move an approved task back to in_review when its branch head is not the approved SHA.

    The branch is fetched from the task's clone first, and with `remote` from the shared
    remote too (workspace.sync_branch).
    """
    from ai_skills.worker.run.workspace import sync_branch

    if task.state not in (TaskState.APPROVED, TaskState.IN_REVIEW):
        if remote and task.state == TaskState.NEEDS_HUMAN:
            sync_branch(ctx, task, remote=remote)  # a person reviews what was pushed
        return task
    sync_branch(ctx, task, remote=remote)
    if task.state != TaskState.APPROVED:
        return task
    approved = get_review(conn, task.id).approved_sha
    head = branch_sha(ctx.repo_root, task.branch)
    if head == approved:
        return task
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
            reason=_voided(task, approved, head),
            data={"approved_sha": approved, "head": head},
        )


def stale_approval(ctx: RepoContext, conn: Db, task: Task) -> str | None:
    """Why the next check will void the task's approval (None: it stands); changes nothing.

    The head is the one `void_if_stale` would fetch: the clone's branch, read with
    ls-remote, else the main repository's.
    """
    from ai_skills.worker.run.clones import clone_branch_head
    from ai_skills.worker.run.workspace_git import tools_sandboxed

    if task.state != TaskState.APPROVED:
        return None
    approved = get_review(conn, task.id).approved_sha
    head = None
    if task.worktree and not task.worktree_removed:
        head = clone_branch_head(
            ctx.repo_root,
            ctx.common_dir,
            Path(task.worktree),
            task.branch,
            sandboxed=tools_sandboxed(),
        )
    head = head or branch_sha(ctx.repo_root, task.branch)
    return None if head == approved else _voided(task, approved, head)


def _voided(task: Task, approved: str | None, head: str | None) -> str:
    now = "deleted" if head is None else f"at {head[:12]}"
    return f"approval of {(approved or '?')[:12]} voided: {task.branch} is {now}"
