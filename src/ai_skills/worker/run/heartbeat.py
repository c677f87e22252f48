"""The supervisor's heartbeat: renew the attempt's lease, record progress (log growth, a
moved branch head), and judge a stall.

A stalled task is only marked here; the supervisor stops its agent right after (`stalled`),
so a stalled task never keeps one running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ai_skills.worker.run.worktrees import branch_sha
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.tasks import Attempt, get_attempt, get_task, transition, update_attempt


@dataclass(frozen=True)
class Limits:
    """Timing of one supervisor."""

    heartbeat: float
    lease: float
    stall_after: float
    grace: float = 10.0  # TERM before KILL when the agent's group is stopped


def _log_size(attempt: Attempt) -> int:
    try:
        return Path(attempt.log_file).stat().st_size
    except OSError:
        return 0


def beat(
    conn: Db, attempt: Attempt, limits: Limits, *, now: float, repo: Path
) -> Attempt:
    """Renew the lease and record progress; mark stalled after too long without progress.

    Progress on the branch is read from the main repository, where the supervisor fetched
    it from the clone (isolation.CloneWatch) just before.
    """
    size = _log_size(attempt)
    head = branch_sha(repo, attempt.branch)
    moved = head is not None and head != attempt.head_sha
    grew = size != attempt.log_size
    with transaction(conn):
        fields: dict[str, object] = {"lease_until": now + limits.lease, "heartbeat_at": now}
        if grew or moved:
            fields.update(progress_at=now, log_size=size)
        if moved:
            fields["head_sha"] = head
            append_event(
                conn,
                kind="progress",
                task_id=attempt.task_id,
                attempt_id=attempt.id,
                data={"head": head, "previous": attempt.head_sha},
                now=now,
            )
        update_attempt(conn, attempt.id, **fields)
        fresh = get_attempt(conn, attempt.id)
        assert fresh is not None
        _judge_progress(conn, fresh, limits, now=now)
    return fresh


def _judge_progress(
    conn: Db, attempt: Attempt, limits: Limits, *, now: float
) -> None:
    task = get_task(conn, attempt.task_id)
    if task.current_attempt != attempt.id:
        return
    idle = now - (attempt.progress_at or attempt.started_at)
    if task.state == TaskState.RUNNING and idle > limits.stall_after:
        # The agent is stopped right after (see `supervise`): a stalled task never keeps one.
        transition(
            conn,
            task,
            TaskState.STALLED,
            action="liveness",
            reason=f"no output or commit for {idle:.0f}s (limit {limits.stall_after:.0f}s); "
            f"the agent was stopped, its work is kept: `worker start {task.id}` resumes it",
            now=now,
        )


def stalled(conn: Db, attempt: Attempt) -> bool:
    task = get_task(conn, attempt.task_id)
    return task.current_attempt == attempt.id and task.state == TaskState.STALLED
