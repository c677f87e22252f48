"""`worker cancel`: stop the agent, save its work to the branch, optionally remove the worktree.

Each step checks the world before acting and is checkpointed, so running cancel again (or
after a crash half-way) resumes instead of repeating, and never loses a commit.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills.util.results import JsonResult
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import OtherHostError, WorktreeError
from ai_skills.worker.hosts import is_here, this_host
from ai_skills.worker.process_identity import is_alive, stop_process
from ai_skills.worker.run.admission import runs_elsewhere
from ai_skills.worker.run.agent_processes import (
    launched,
    record_agent_stopped,
    stop_attempt_processes,
)
from ai_skills.worker.run.workspace import sync_branch
from ai_skills.worker.run.workspace_git import (
    disown_if_foreign,
    drop_stale_index_lock,
    remove_workspace,
    save_workspace_work,
)
from ai_skills.worker.run.worktrees import (
    branch_exists,
    branch_sha,
    delete_branch,
    is_merged,
)
from ai_skills.worker.states import TERMINAL, TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store.tasks import mark_worktree_removed
from ai_skills.worker.tasks import Task, get_attempt, get_task, mark_step, record_event, transition


@dataclass(frozen=True)
class CancelOptions:
    """How to cancel."""

    reason: str
    cleanup: bool = False
    force: bool = False
    grace_seconds: float = 10.0
    integration_branch: str | None = None


@dataclass(frozen=True)
class CancelResult(JsonResult):
    """What cancel did, step by step."""

    task_id: str
    state: str
    already_cancelled: bool
    agent: str
    saved_commit: str | None
    worktree: str | None
    worktree_removed: bool
    branch: str
    branch_kept: bool
    notes: list[str] = field(default_factory=list)


def cancel_task(
    ctx: RepoContext, conn: Db, task_id: str, options: CancelOptions
) -> CancelResult:
    """Cancel a task; safe to run again, and resumes an interrupted cancel.

    A task whose attempt runs on another host is refused while that host's lease holds (its
    processes and worktree are on that machine); after the lease ran out it is cancelled in
    the store only, with a note saying what was left on that host.
    """
    away = _other_host(ctx, conn, task_id, options)
    if away:
        return _cancel_in_store(conn, task_id, options, away)
    task, already = _mark_cancelled(conn, task_id, options)
    notes: list[str] = []
    if task.state != TaskState.CANCELLED:
        notes.append(f"task was already {task.state.value}; only cleanup steps ran")
    agent = stop_attempt(conn, task, grace=0.0 if options.force else options.grace_seconds)
    foreign = None
    if task.worktree and not task.worktree_removed:
        foreign = disown_if_foreign(ctx, conn, task.id, task.branch, task.worktree)
    if foreign:  # the folder that refused the task's start: nothing is saved in it or removed
        notes.append(foreign)
        task = get_task(conn, task.id)
    saved = _save_work(ctx, conn, task)
    removed = task.worktree_removed and not foreign
    if options.cleanup and not task.worktree_removed:
        _remove_worktree(ctx, conn, task)
        removed = True
    kept = branch_exists(ctx.repo_root, task.branch)
    if options.cleanup and kept:
        kept = not _delete_branch_if_merged(ctx, conn, task, options.integration_branch)
        if kept:
            notes.append(
                f"branch {task.branch} kept: it has commits not merged into "
                f"{options.integration_branch or task.base}"
            )
    return _cancel_done(conn, task, already, agent=agent, saved=saved, removed=removed,
                        kept=kept, notes=notes)  # fmt: skip


def _cancel_done(
    conn: Db, task: Task, already: bool, *, agent: str, saved: str | None, removed: bool,
    kept: bool, notes: list[str],
) -> CancelResult:
    """Close the cancel step and say what it did."""
    with transaction(conn):
        mark_step(conn, task.id, "cancel", done=True)
    return CancelResult(
        task_id=task.id,
        state=get_task(conn, task.id).state.value,
        already_cancelled=already,
        agent=agent,
        saved_commit=saved,
        worktree=task.worktree,
        worktree_removed=removed,
        branch=task.branch,
        branch_kept=kept,
        notes=notes,
    )


def _other_host(ctx: RepoContext, conn: Db, task_id: str, options: CancelOptions) -> str:
    """The host the task's attempt ran on when that is not this clone's ("" when it is)."""
    task = get_task(conn, task_id)
    attempt = get_attempt(conn, task.current_attempt)
    here = this_host(ctx.worker_dir)
    if attempt is None or is_here(attempt.host, here):
        return ""
    where = attempt.host or "without a host name"
    if task.state not in TERMINAL and runs_elsewhere(conn, attempt, here):
        action = f"`worker cancel {task_id} --reason ...`"
        raise OtherHostError(task_id=task_id, host=where, attempt=attempt.number, action=action)
    return where


def _cancel_in_store(
    conn: Db, task_id: str, options: CancelOptions, host: str
) -> CancelResult:
    task, already = _mark_cancelled(conn, task_id, options)
    return _cancel_done(
        conn, task, already, agent=f"not signalled (it ran on host {host})", saved=None,
        removed=task.worktree_removed, kept=True,
        notes=[f"the worktree and any uncommitted work stay on host {host}; what it pushed "
               f"is on {task.branch} of the shared remote"],
    )  # fmt: skip


def _mark_cancelled(
    conn: Db, task_id: str, options: CancelOptions
) -> tuple[Task, bool]:
    # The state moves first so no report or tick can move the task while we stop it.
    with transaction(conn):
        task = get_task(conn, task_id)
        already = task.state == TaskState.CANCELLED
        if task.state not in TERMINAL:
            task = transition(
                conn, task, TaskState.CANCELLED, action="cancel", reason=options.reason
            )
        mark_step(
            conn,
            task_id,
            "cancel",
            done=False,
            detail=json.dumps({"cleanup": options.cleanup, "reason": options.reason}),
        )
    return task, already


def stop_attempt(conn: Db, task: Task, *, grace: float) -> str:
    """Stop the current attempt's agent group (TERM, `grace`, KILL) and its supervisor."""
    attempt = get_attempt(conn, task.current_attempt)
    if attempt is None:
        return "none"
    attempt = launched(conn, attempt)
    # The whole group, also children that outlived a killed agent (agent_processes.py).
    outcome = stop_attempt_processes(attempt, grace=grace)
    # Give the supervisor a moment to record the exit code before it is stopped too.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and is_alive(
        attempt.supervisor_pid, attempt.supervisor_token
    ):
        time.sleep(0.05)
    stop_process(attempt.supervisor_pid, attempt.supervisor_token, grace=grace)
    record_agent_stopped(conn, attempt, outcome)
    return outcome


def _save_work(ctx: RepoContext, conn: Db, task: Task) -> str | None:
    if not task.worktree or task.worktree_removed:
        return None
    message = (
        f"worker: save uncommitted work of cancelled task {task.id}\n\n"
        f"Committed by `worker cancel` so the work stays on {task.branch}."
    )
    path = Path(task.worktree)
    before = branch_sha(ctx.repo_root, task.branch)
    # The agent is stopped by now (stop_attempt), maybe in the middle of its own commit.
    if drop_stale_index_lock(path):
        record_event(conn, kind="stale_lock_removed", task_id=task.id,
                     data={"path": str(path / ".git" / "index.lock")})
    saved = save_workspace_work(ctx, path, message=message)
    # Its commits, also those the supervisor had not fetched from its clone, go to the branch.
    sync_branch(ctx, task)
    after = branch_sha(ctx.repo_root, task.branch)
    sha = after if saved and after != before else None
    if sha:
        record_event(conn, kind="work_saved", task_id=task.id, data={"commit": sha})
    return sha


def _remove_worktree(ctx: RepoContext, conn: Db, task: Task) -> None:
    """Remove the task's worktree or raise; a task without one has nothing to remove."""
    if not task.worktree:
        return
    path = Path(task.worktree)
    if not remove_workspace(ctx, task.id, path):
        raise WorktreeError(
            task_id=task.id,
            path=str(path),
            detail="could not be removed; the task record stays, run `worker reconcile` to see why",
        )
    with transaction(conn):
        mark_worktree_removed(conn, task.id)
        append_event(conn, kind="worktree_removed", task_id=task.id, data={"path": str(path)})


def _delete_branch_if_merged(
    ctx: RepoContext, conn: Db, task: Task, integration: str | None
) -> bool:
    into = integration or task.base
    if not is_merged(ctx.repo_root, task.branch, into):
        return False
    delete_branch(ctx.repo_root, task.branch)
    record_event(
        conn,
        kind="branch_deleted",
        task_id=task.id,
        data={"branch": task.branch, "merged_into": into},
    )
    return True
