"""`worker retry`: run a failed task again, with the failure in the new attempt's prompt.

`failed` (the agent exited with an error code of its own) is final for the automatic
machinery: `tick`, the daemon and autostart never start it. A person or the supervising
agent decides to try again, typically after fixing the configuration that made it fail.
"""

from __future__ import annotations

from pathlib import Path

from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ReviewRefusedError
from ai_skills.worker.review.records import record_change_request
from ai_skills.worker.run.launch import StartResult, start_task
from ai_skills.worker.run.rate_limit import read_tail
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.tasks import Attempt, get_attempt, get_task, transition

_TAIL_LINES = 20
_TAIL_BYTES = 4000


def retry_task(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    task_id: str,
    *,
    message: str = "",
    runtime: str | None = None,
    runtime_command: str | None = None,
) -> StartResult:
    """Move a failed task back to the queue with the failure as feedback, then start it."""
    with transaction(conn):
        task = get_task(conn, task_id)
        if task.state != TaskState.FAILED:
            raise ReviewRefusedError(
                task_id=task_id,
                detail=f"is {task.state.value}; only a failed task is retried "
                f"(`worker start {task_id}` starts a queued or stalled one)",
            )
        attempt = get_attempt(conn, task.current_attempt)
        feedback = failure_feedback(attempt, message)
        record_change_request(conn, task_id, feedback, count=False)
        transition(
            conn,
            task,
            TaskState.QUEUED,
            action="retry",
            reason=f"retry requested after: {task.reason}",
            data={"failed_attempt": attempt.number if attempt else None},
        )
    return start_task(ctx, conn, config, task_id, runtime=runtime, runtime_command=runtime_command)


def failure_feedback(attempt: Attempt | None, message: str = "") -> str:
    """What the next attempt reads: how the last one ended, the end of its output, `message`."""
    if attempt is None:
        return message
    code = "unknown" if attempt.exit_code is None else str(attempt.exit_code)
    parts = [
        f"This is a retry: attempt {attempt.number} failed: agent exited with code {code} "
        "without reporting done."
    ]
    tail = _log_tail(Path(attempt.log_file))
    if tail:
        parts.append(f"The last lines of its output:\n\n```\n{tail}\n```")
    if message:
        parts.append(message)
    return "\n\n".join(parts)


def _log_tail(path: Path) -> str:
    data = read_tail(path, limit=_TAIL_BYTES)
    # Backticks could close the fence and turn the agent's output into prompt text.
    lines = data.replace("```", "'''").splitlines()[-_TAIL_LINES:]
    return "\n".join(lines).strip()
