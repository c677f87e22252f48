"""`worker report`: an agent tells the store how it is doing."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ai_skills.util.results import JsonResult
from ai_skills.worker.errors import IllegalTransitionError, ReportContextError
from ai_skills.worker.states import TaskState, can_transition
from ai_skills.worker.store import Db, append_event, recall_result, remember_result, transaction
from ai_skills.worker.store.attempts import attempt_row
from ai_skills.worker.tasks import get_task, transition, update_attempt

# An agent's message becomes the task's reason and an event: the store keeps this much of it.
MAX_MESSAGE = 20_000
_CUT = " [message cut at {} characters]"

STATUS_TARGETS: dict[str, TaskState] = {
    "working": TaskState.RUNNING,
    "needs-input": TaskState.NEEDS_INPUT,
    # A blocked agent cannot go on by itself: a human decides (policy rule in the design).
    "blocked": TaskState.NEEDS_HUMAN,
    "done": TaskState.IN_REVIEW,
}


@dataclass(frozen=True)
class ReportResult(JsonResult):
    """What became of a report."""

    task_id: str
    attempt_id: int
    status: str
    accepted: bool
    state: str
    note: str


def report(
    conn: Db,
    *,
    task_id: str,
    attempt_id: int | None,
    status: str,
    message: str = "",
    key: str | None = None,
    now: float | None = None,
) -> ReportResult:
    """Apply a report from `attempt_id` (None: the current attempt) to the task."""
    if status not in STATUS_TARGETS:
        raise ReportContextError(
            detail=f"unknown status {status!r}; use one of {', '.join(STATUS_TARGETS)}"
        )
    now = time.time() if now is None else now
    message = bounded_message(message)
    refused: IllegalTransitionError | None = None
    with transaction(conn):
        earlier = recall_result(conn, key)
        if earlier is not None:
            return ReportResult(**earlier)
        task = get_task(conn, task_id)
        if task.current_attempt is None:
            raise ReportContextError(
                detail=f"task {task_id!r} is {task.state.value} and has no attempt; "
                "only a started task's agent can report"
            )
        attempt = task.current_attempt if attempt_id is None else attempt_id
        data = {"status": status, "message": message}
        if attempt != task.current_attempt:
            append_event(
                conn,
                kind="stale_report",
                task_id=task_id,
                attempt_id=attempt,
                data={**data, "current_attempt": task.current_attempt},
                now=now,
            )
            result = ReportResult(
                task_id,
                attempt,
                status,
                False,
                task.state.value,
                f"attempt {_number(conn, attempt)} is not the current attempt "
                f"({_number(conn, task.current_attempt)}) of task {task_id!r}; the report was "
                "recorded and ignored",
            )
        else:
            update_attempt(conn, attempt, progress_at=now)
            target = STATUS_TARGETS[status]
            if task.state == target:
                append_event(
                    conn, kind="report", task_id=task_id, attempt_id=attempt, data=data, now=now
                )
            elif can_transition(task.state, target):
                task = transition(
                    conn,
                    task,
                    target,
                    action=f"report {status}",
                    reason=message or status,
                    attempt_id=attempt,
                    now=now,
                )
            else:
                append_event(
                    conn,
                    kind="refused_report",
                    task_id=task_id,
                    attempt_id=attempt,
                    data={**data, "state": task.state.value},
                    now=now,
                )
                refused = IllegalTransitionError(
                    task_id=task_id,
                    current=task.state.value,
                    target=target.value,
                    action=f"report {status}",
                )
                result = ReportResult(
                    task_id, attempt, status, False, task.state.value, str(refused)
                )
            if refused is None:
                result = ReportResult(task_id, attempt, status, True, task.state.value, "")
        if refused is None:
            remember_result(conn, key, "report", result.as_dict())
    if refused is not None:
        raise refused
    return result


def bounded_message(message: str) -> str:
    """An agent's report message, cut to `MAX_MESSAGE` characters with a note saying so."""
    if len(message) <= MAX_MESSAGE:
        return message
    cut = _CUT.format(MAX_MESSAGE)
    return message[: MAX_MESSAGE - len(cut)] + cut


def _number(conn: Db, attempt_id: int) -> str:
    """The task's own number of an attempt (as `status` shows it), from its store id."""
    row = attempt_row(conn, attempt_id)
    return str(row["number"]) if row else f"id {attempt_id}"
