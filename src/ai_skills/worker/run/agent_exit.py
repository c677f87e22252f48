"""An agent's end: what its exit code says (the signal that ended it, where its task goes),
and recording it in the store."""

from __future__ import annotations

import signal
import time

from ai_skills.worker.run import rate_limit_fallback
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.tasks import (
    Attempt,
    get_attempt,
    get_task,
    record_event,
    transition,
    update_attempt,
)


def killed_by(exit_code: int) -> str:
    """The signal that ended the agent (`SIGKILL`), or "" for a normal exit.

    Popen reports a signal as a negative code; a shell between us and the agent reports
    its child's signal as 128 + N.
    """
    number = -exit_code if exit_code < 0 else exit_code - 128 if 128 < exit_code < 160 else 0
    if not number:
        return ""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def exit_verdict(task_id: str, exit_code: int) -> tuple[TaskState, str]:
    """Where a running task goes when its agent exits without reporting done, and why.

    Only an exit code of the agent's own makes it `failed`. A signal (kill -9, the OOM
    killer, a shutdown) says nothing about the work, so the task stalls, resumable.
    """
    name = killed_by(exit_code)
    if name:
        code = f" (exit code {exit_code})" if exit_code > 0 else ""
        return TaskState.STALLED, (
            f"agent killed by signal {name}{code} before reporting done; its commits and "
            f"files are kept: `worker start {task_id}` resumes it"
        )
    if exit_code == 0:
        return TaskState.STALLED, "agent exited with code 0 without reporting done"
    return TaskState.FAILED, (
        f"agent exited with code {exit_code} without reporting done; "
        f"`worker retry {task_id}` runs it again with this failure in its prompt"
    )


def finish(
    conn: Db, attempt_id: int, exit_code: int, *, now: float, limited: str = ""
) -> None:
    """Record the agent's exit; a running task whose agent left without `done` stops running.

    A rate-limit outcome (rate_limit_fallback.py; `limited`: seen live, rate_limit_watch.py) sends
    the task back to the queue instead. A task already `stalled` stays so, whatever the code: it was
    stopped because it stalled.
    """
    limited = limited or rate_limit_fallback.rate_limit_verdict(conn, attempt_id, exit_code)
    with transaction(conn):
        update_attempt(conn, attempt_id, exit_code=exit_code, ended_at=now, lease_until=now)
        attempt = get_attempt(conn, attempt_id)
        assert attempt is not None
        append_event(
            conn,
            kind="agent_exited",
            task_id=attempt.task_id,
            attempt_id=attempt_id,
            data={"exit_code": exit_code},
            now=now,
        )
        if not limited:
            rate_limit_fallback.clear_rate_limits(conn, attempt.task_id)
        task = get_task(conn, attempt.task_id)
        if task.current_attempt != attempt_id or task.state not in (
            TaskState.RUNNING,
            TaskState.STALLED,
        ):
            return
        if limited:
            rate_limit_fallback.requeue_rate_limited(conn, task, attempt_id, limited, now=now)
            return
        if task.state == TaskState.RUNNING:
            target, reason = exit_verdict(task.id, exit_code)
            transition(conn, task, target, action="agent exit", reason=reason, now=now)


def append_and_finish(conn: Db, attempt: Attempt, why: str) -> None:
    """Record a launch failure as the attempt's end."""
    record_event(
        conn,
        kind="agent_launch_failed",
        task_id=attempt.task_id,
        attempt_id=attempt.id,
        data={"error": why},
    )
    finish(conn, attempt.id, 127, now=time.time())
