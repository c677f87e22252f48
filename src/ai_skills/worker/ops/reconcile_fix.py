"""The safe repairs `worker reconcile --fix` applies, one per kind of finding.

Marking provably dead runs stalled, pruning git's record of deleted worktrees, stopping
orphaned agents, resuming interrupted steps and merges. Nothing that could lose work.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace

from ai_skills.errors import AiSkillsError
from ai_skills.util.git import run_git
from ai_skills.util.results import JsonResult
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import WorkerError
from ai_skills.worker.ops.liveness import seal_if_unsupervised
from ai_skills.worker.ops.watch import save_cursor
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.review.merge import merge_task
from ai_skills.worker.run.agent_processes import stop_attempt_processes
from ai_skills.worker.run.cancel import CancelOptions, cancel_task
from ai_skills.worker.run.launch_steps import launch_attempt
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.store.tasks import mark_worktree_removed
from ai_skills.worker.tasks import (
    get_attempt,
    get_task,
    mark_step,
    record_event,
    transition,
    unfinished_steps,
)

STALE_CURSOR = "reconcile-stale-signals"


@dataclass(frozen=True)
class Finding(JsonResult):
    """One difference between the store and the world."""

    kind: str
    task_id: str | None
    detail: str
    fix: str  # the safe repair, or "" when a human must decide
    fixed: bool = False
    seq: int | None = None  # the event a finding is about, when there is one
    attempt_id: int | None = None  # the attempt a finding is about, when there is one


def apply_fix(ctx: RepoContext, conn: Db, config: WorkerConfig, finding: Finding) -> Finding:
    """Apply the finding's safe repair and log it; the finding marked fixed, or why not."""
    if not finding.fix:
        return finding
    try:
        _repair(ctx, conn, config, finding)
    except AiSkillsError as exc:
        return replace(finding, detail=f"{finding.detail} (fix failed: {exc})", fix="")
    record_event(
        conn,
        kind="reconciled",
        task_id=finding.task_id,
        data={"finding": finding.kind, "fix": finding.fix},
    )
    return replace(finding, fixed=True)


def _repair(ctx: RepoContext, conn: Db, config: WorkerConfig, f: Finding) -> None:
    if f.kind == "worktree_missing":
        run_git(["worktree", "prune"], cwd=ctx.repo_root)
        assert f.task_id is not None
        _stall_if_dead(conn, f.task_id, "worktree missing: " + f.detail)
        with transaction(conn):
            mark_worktree_removed(conn, f.task_id)
    elif f.kind == "process_dead":
        assert f.task_id is not None
        _stall_if_dead(conn, f.task_id, f.detail)
        attempt = get_attempt(conn, get_task(conn, f.task_id).current_attempt)
        if attempt is not None:
            stop_attempt_processes(attempt, grace=config.cancel_grace_seconds)
            seal_if_unsupervised(conn, attempt.id, now=time.time())
    elif f.kind == "orphan_processes":
        attempt = get_attempt(conn, f.attempt_id)
        if attempt is not None:
            stop_attempt_processes(attempt, grace=config.cancel_grace_seconds)
    elif f.kind == "unfinished_step":
        _resume_step(ctx, conn, config, f)
    elif f.kind == "stale_signal":
        save_cursor(conn, STALE_CURSOR, f.seq or 0)
    elif f.kind == "unfinished_merge":
        assert f.task_id is not None
        merge_task(ctx, conn, config, f.task_id)
    elif f.kind == "unpushed_commits" and config.remote:
        _push_task_branch(ctx, config.remote, get_task(conn, f.task_id or "").branch)


def _push_task_branch(ctx: RepoContext, remote: str, branch: str) -> None:
    """Push a task branch the remote lacks commits of: a fast-forward or nothing."""
    from ai_skills.worker.run.remote_branch import push_branch

    done = push_branch(ctx.repo_root, remote, branch)
    if not done.landed:
        raise WorkerError(f"{branch} was not pushed to {remote} ({done.outcome}: {done.detail})")


def _stall_if_dead(conn: Db, task_id: str, reason: str) -> None:
    with transaction(conn):
        task = get_task(conn, task_id)
        attempt = get_attempt(conn, task.current_attempt)
        if task.state != TaskState.RUNNING or attempt is None:
            return
        if is_alive(attempt.supervisor_pid, attempt.supervisor_token) or is_alive(
            attempt.agent_pid, attempt.agent_token
        ):
            return
        transition(conn, task, TaskState.STALLED, action="reconcile", reason=reason)


def _resume_step(ctx: RepoContext, conn: Db, config: WorkerConfig, f: Finding) -> None:
    assert f.task_id is not None
    rows = [s for s in unfinished_steps(conn) if s["task_id"] == f.task_id]
    for step in rows:
        if step["name"] == "cancel":
            options = json.loads(step["detail"] or "{}")
            cancel_task(
                ctx,
                conn,
                f.task_id,
                CancelOptions(
                    reason=options.get("reason", "resumed by reconcile"),
                    cleanup=bool(options.get("cleanup")),
                    grace_seconds=config.cancel_grace_seconds,
                    integration_branch=config.integration_branch,
                ),
            )
        elif step["name"] == "launch":
            task = get_task(conn, f.task_id)
            if task.current_attempt == step["attempt_id"] and task.state == TaskState.RUNNING:
                launch_attempt(ctx, conn, config, step["attempt_id"])
            else:
                with transaction(conn):
                    mark_step(
                        conn,
                        f.task_id,
                        "launch",
                        attempt_id=step["attempt_id"],
                        done=True,
                        detail="superseded",
                    )
