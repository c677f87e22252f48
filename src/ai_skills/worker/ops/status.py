"""`worker status` rows and `worker logs`: read-only views of the store and the worktrees."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from ai_skills.errors import CommandError
from ai_skills.util.results import JsonResult
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import NoAttemptError
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.run.profiles import attempt_profiles
from ai_skills.worker.run.worktrees import progress_counts, task_branches
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db
from ai_skills.worker.store import attempts as attempt_rows
from ai_skills.worker.tasks import Attempt, Task, attempt_from_row, get_task, list_tasks

_CHUNK = 1 << 20  # an agent's log may be gigabytes: stream it, never hold it whole


@dataclass(frozen=True)
class TaskStatus(JsonResult):
    """One line of `worker status`."""

    id: str
    title: str
    state: str
    reason: str
    waiting_reason: str
    priority: int
    branch: str
    worktree: str | None
    attempt: int | None
    attempt_id: int | None
    pid: int | None
    supervisor_pid: int | None
    alive: bool
    heartbeat_age: float | None
    exit_code: int | None
    commits_ahead: int | None
    files_changed: int | None
    profile: str | None = None  # the profile of the current attempt (profiles.py)
    needs: list[str] = field(default_factory=list)  # labels a host must have (hosts.py)
    host: str | None = None  # the host that claimed it (None: no host daemon)
    attempts: list[dict[str, object]] = field(default_factory=list)  # every attempt, oldest first

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        # Not dataclasses.asdict: its deep copy was most of `status --json` on 10,000 tasks.
        return {
            **vars(self),
            "attempts": [dict(a) for a in self.attempts],
            "needs": list(self.needs),
        }


def _current_attempts(conn: Db, task_ids: list[str]) -> dict[int, Attempt]:
    rows = attempt_rows.current_attempt_rows(conn, task_ids)
    return {int(r["id"]): attempt_from_row(r) for r in rows}


def task_statuses(
    ctx: RepoContext,
    conn: Db,
    task_id: str | None = None,
    *,
    with_git: bool = True,
    now: float | None = None,
    recent_final: int | None = None,
) -> list[TaskStatus]:
    """Status of one task or all tasks; git counts only for tasks that have a branch.

    With `recent_final`, of the tasks in a final state only that many (the last changed).
    """
    now = time.time() if now is None else now
    tasks = [get_task(conn, task_id)] if task_id else list_tasks(conn, recent_final=recent_final)
    ids = [task.id for task in tasks]
    attempts = _current_attempts(conn, ids)
    histories = attempt_profiles(conn, ids)
    # One git run finds the branches that exist: a merged task's is gone, and counting
    # commits on it would be two git runs per task for nothing.
    branches = task_branches(ctx.repo_root) if with_git else set()
    rows: list[TaskStatus] = []
    for task in tasks:
        attempt = attempts.get(task.current_attempt) if task.current_attempt else None
        counted = task.branch in branches
        row = _status_of(ctx, task, attempt, with_git=counted, now=now)
        voided = None
        if with_git and task.state == TaskState.APPROVED:
            # Imported here: review's modules cost `status` milliseconds it rarely needs.
            from ai_skills.worker.review.records import stale_approval

            voided = stale_approval(ctx, conn, task)
        if voided:  # the next check records it (review.findings.check_task, merge, review)
            row = replace(row, state=TaskState.IN_REVIEW.value, reason=voided)
        history = histories.get(task.id, [])
        current = [h.profile for h in history if h.attempt_id == task.current_attempt]
        rows.append(
            replace(
                row,
                profile=current[0] if current else None,
                attempts=[h.as_dict() for h in history],
            )
        )
    return rows


def _status_of(
    ctx: RepoContext, task: Task, attempt: Attempt | None, *, with_git: bool, now: float
) -> TaskStatus:
    ahead = files = None
    if with_git and attempt is not None and attempt.base_sha:
        # A branch deleted or moved away has no counts; reconcile names it.
        with suppress(CommandError):
            ahead, files = progress_counts(
                ctx.repo_root, base_sha=attempt.base_sha, branch=task.branch
            )
    return TaskStatus(
        id=task.id,
        title=task.title,
        state=task.state.value,
        reason=task.reason,
        waiting_reason=task.waiting_reason,
        priority=task.priority,
        branch=task.branch,
        worktree=None if task.worktree_removed else task.worktree,
        attempt=attempt.number if attempt else None,
        attempt_id=attempt.id if attempt else None,
        pid=attempt.agent_pid if attempt else None,
        supervisor_pid=attempt.supervisor_pid if attempt else None,
        alive=bool(attempt and is_alive(attempt.agent_pid, attempt.agent_token)),
        heartbeat_age=round(now - attempt.heartbeat_at, 1)
        if attempt and attempt.heartbeat_at and attempt.ended_at is None
        else None,
        exit_code=attempt.exit_code if attempt else None,
        commits_ahead=ahead,
        files_changed=files,
        needs=task.needs,
        host=task.host,
    )


def log_file(conn: Db, task_id: str, *, attempt_number: int | None = None) -> Path:
    """The agent log of the current (or a numbered) attempt of a task."""
    task = get_task(conn, task_id)
    if attempt_number is not None:
        row = attempt_rows.attempt_row_by_number(conn, task_id, attempt_number)
    elif task.current_attempt is not None:
        row = attempt_rows.attempt_row(conn, task.current_attempt)
    else:
        row = None
    if row is None:
        raise NoAttemptError(task_id=task_id, number=attempt_number)
    return Path(row["log_file"])


def log_finished(conn: Db, task_id: str, path: Path) -> bool:
    """True when nothing more will be written to `path`: its attempt ended, or the task did."""
    row = attempt_rows.attempt_row_by_log(conn, str(path))
    return (
        row is None
        or row["ended_at"] is not None
        or get_task(conn, task_id).state.value in ("cancelled", "failed")
    )


def follow_file(path: Path, *, finished: Callable[[], bool], poll: float = 0.25) -> Iterator[bytes]:
    """Chunks of `path` as it grows, until `finished()` is true and nothing new was written."""
    offset = 0
    while True:
        chunk = b""
        if path.exists():
            with open(path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read(_CHUNK)
        if chunk:
            offset += len(chunk)
            yield chunk
            continue
        if finished():
            return
        time.sleep(poll)
