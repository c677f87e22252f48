"""The launch steps of an admitted attempt, each checkpointed and checking the world first:
workspace (its clone, moved or converted if need be, and its skills) -> prompt -> supervisor.

`worker start` runs them right after admission; `reconcile --fix` resumes them after a crash.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ai_skills.errors import AiSkillsError
from ai_skills.util.fs import atomic_write_text
from ai_skills.util.git import git_env, git_out
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import BranchDivergedError, WorkerError
from ai_skills.worker.process_identity import is_alive, start_token
from ai_skills.worker.review.records import get_review
from ai_skills.worker.run import remote_resume
from ai_skills.worker.run.prompt import render_prompt
from ai_skills.worker.run.store_outage import store_errors
from ai_skills.worker.run.workspace import link_skills, prepare_clone
from ai_skills.worker.run.worktrees import branch_exists, branch_sha
from ai_skills.worker.runtimes import worker_program
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.tasks import (
    Attempt,
    Task,
    earlier_workspace,
    get_attempt,
    get_task,
    mark_step,
    record_event,
    transition,
    update_attempt,
)


def launch_attempt(
    ctx: RepoContext, conn: Db, config: WorkerConfig, attempt_id: int
) -> tuple[Attempt, int]:
    """Run (or resume) the launch steps of an admitted attempt; each checks the world first.

    The attempt as launched, and its supervisor's pid.
    """
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None
    task = get_task(conn, attempt.task_id)
    try:
        attempt = _prepare_worktree(ctx, conn, task, attempt, remote=config.remote)
        _write_prompt(ctx, conn, config, task, attempt)
        pid = _ensure_supervisor(ctx, conn, config, attempt)
    except store_errors():
        raise  # not the launch's fault, and nothing can be recorded: the caller waits
    except AiSkillsError as exc:
        # Diverged branches need a person: back in the queue, every tick would try again.
        human = isinstance(exc, BranchDivergedError)
        _abandon_launch(conn, task.id, attempt_id, str(exc), human=human)
        raise
    with transaction(conn):
        mark_step(conn, task.id, "launch", attempt_id=attempt_id, done=True)
    return attempt, pid


def _prepare_worktree(
    ctx: RepoContext, conn: Db, task: Task, attempt: Attempt, *, remote: str | None = None
) -> Attempt:
    path = Path(attempt.worktree)
    earlier = earlier_workspace(conn, task.id, attempt.id)
    brought = None
    if remote:  # several hosts: the branch may have moved on elsewhere
        clone = remote_resume.existing_clone(ctx.common_dir, task.id, path, earlier)
        brought = remote_resume.take_up_remote(ctx, task, remote, clone=clone)
    made = prepare_clone(ctx, task, path, earlier=earlier)
    if brought is not None:
        remote_resume.catch_up_clone(ctx, task, path, brought)
        if brought.outcome in ("created", "fast_forwarded"):
            record_event(
                conn, kind="branch_taken_up", task_id=task.id, attempt_id=attempt.id,
                data={"remote": remote, "branch": task.branch, "sha": brought.local,
                      "before": brought.before},
            )
    for kind, data in made.events(path):
        record_event(conn, kind=kind, task_id=task.id, attempt_id=attempt.id, data=data)
    links = link_skills(ctx.repo_root, path.resolve(), os.environ)
    if links.linked or links.problems:
        record_event(
            conn, kind="skills_linked", task_id=task.id, attempt_id=attempt.id,
            data=links.as_dict(),
        )
    if attempt.base_sha is None:
        _record_base(ctx, conn, task, attempt, created=made.created)
    refreshed = get_attempt(conn, attempt.id)
    assert refreshed is not None
    return refreshed


def _record_base(
    ctx: RepoContext, conn: Db, task: Task, attempt: Attempt, *, created: bool
) -> None:
    """Where the attempt starts: progress, review and status count from this commit."""
    base_ref = task.base if branch_exists(ctx.repo_root, task.base) else task.branch
    base_sha = git_out(
        ["merge-base", f"refs/heads/{base_ref}", f"refs/heads/{task.branch}"], cwd=ctx.repo_root
    )
    head = branch_sha(ctx.repo_root, task.branch)
    with transaction(conn):
        update_attempt(conn, attempt.id, base_sha=base_sha, head_sha=head)
        append_event(
            conn,
            kind="worktree_ready",
            task_id=task.id,
            attempt_id=attempt.id,
            data={"path": attempt.worktree, "created": created, "base_sha": base_sha},
        )


def _write_prompt(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    task: Task,
    attempt: Attempt,
) -> None:
    template = ctx.repo_root / config.prompt_template if config.prompt_template else None
    text = render_prompt(
        {
            "task": task,
            "attempt": attempt.number,
            "attempt_id": attempt.id,  # the store's id; kept for templates written before
            "worker": worker_program(),
            "worktree": attempt.worktree,
            "base_sha": attempt.base_sha,
            # The reviewer's last change request, until an approval clears it.
            "feedback": get_review(conn, task.id).feedback,
        },
        template_path=template,
    )
    assert attempt.prompt_file is not None
    atomic_write_text(Path(attempt.prompt_file), text, durable=False)


def _ensure_supervisor(
    ctx: RepoContext, conn: Db, config: WorkerConfig, attempt: Attempt
) -> int:
    if attempt.supervisor_pid and is_alive(attempt.supervisor_pid, attempt.supervisor_token):
        return attempt.supervisor_pid
    if attempt.ended_at is not None:
        raise WorkerError(
            f"attempt {attempt.number} of task {attempt.task_id!r} already ended; "
            "start the task again for a new attempt"
        )
    pid = spawn_supervisor(ctx, config, attempt.id)
    # Recorded here as well as by the supervisor itself, so a cancel that comes before the
    # supervisor's first write still finds (and stops) it.
    with transaction(conn):
        update_attempt(conn, attempt.id, supervisor_pid=pid, supervisor_token=start_token(pid))
    return pid


def spawn_supervisor(ctx: RepoContext, config: WorkerConfig, attempt_id: int) -> int:
    """Start the supervisor detached from our session (double fork); return its pid."""
    argv = [
        sys.executable,
        "-m",
        "ai_skills.worker.run.supervisor",
        "--detach",
        "--db",
        str(ctx.db_path),
        "--attempt",
        str(attempt_id),
        "--heartbeat",
        str(config.heartbeat_seconds),
        "--lease",
        str(config.lease_seconds),
        "--stall-after",
        str(config.stall_after_seconds),
        "--grace",
        str(config.cancel_grace_seconds),
        *(["--remote", config.remote] if config.remote else []),
    ]
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=git_env(), timeout=60, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0 or not proc.stdout.strip().isdigit():
        raise WorkerError(
            f"attempt {attempt_id}: the supervisor did not start (exit {proc.returncode}): "
            f"{proc.stderr.strip()[-300:] or 'no output'}"
        )
    return int(proc.stdout.strip())


def _abandon_launch(
    conn: Db, task_id: str, attempt_id: int, why: str, *, human: bool = False
) -> None:
    """Put a task whose launch failed back in the queue (`human`: in needs_human), with the
    reason, and end the attempt."""
    with transaction(conn):
        task = get_task(conn, task_id)
        update_attempt(conn, attempt_id, lease_until=None, ended_at=time.time())
        mark_step(
            conn, task_id, "launch", attempt_id=attempt_id, done=True, detail=f"failed: {why}"
        )
        if task.current_attempt != attempt_id or task.state != TaskState.RUNNING:
            return
        if human:
            reason = (
                f"needs a human: start refused: {why}; when the branches are joined, "
                f"`worker review {task_id} --request-changes --human --reason TEXT` restarts it"
            )
            transition(conn, task, TaskState.NEEDS_HUMAN, action="start", reason=reason)
            return
        transition(conn, task, TaskState.QUEUED, action="start", reason=f"start failed: {why}")
