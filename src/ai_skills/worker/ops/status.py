"""`worker status` rows and `worker logs`: read-only views of the store and the worktrees.

Supervising agents poll `worker status --json`, so its rows come straight from the store's
rows: the Task and Attempt objects (`worker.tasks`) and the profile logic (`run.profiles`)
would bring `dataclasses` (with `inspect`) and most of the worker, more than the work. For
the same reason this module imports neither `typing`, `pathlib`, `contextlib` nor `enum`
(`worker.states`): at Python's start-up speed, each costs status more than its work
(benchmarks/worker_bench.py).
"""

from __future__ import annotations

import os
import time

from ai_skills.errors import CommandError
from ai_skills.util.values import Value
from ai_skills.worker.errors import NoAttemptError, TaskNotFoundError
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.run.worktrees import progress_counts, task_branches
from ai_skills.worker.store import attempts as attempt_rows
from ai_skills.worker.store import profiles as profile_rows
from ai_skills.worker.store import tasks as task_rows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Any

    from ai_skills.worker.context import RepoContext
    from ai_skills.worker.store import Db, Row

# TaskState values (worker/states.py, an enum); a test holds them equal.
FINAL_STATES = ("cancelled", "failed", "merged")  # TERMINAL, sorted
LIVE_STATES = ("queued", "running", "needs_input", "stalled", "in_review",
               "changes_requested", "approved", "needs_human", "merging")  # the others
APPROVED, IN_REVIEW = "approved", "in_review"
_FINAL = frozenset(FINAL_STATES)
_CHUNK = 1 << 20  # an agent's log may be gigabytes: stream it, never hold it whole


class TaskStatus(Value):
    """One line of `worker status`; its fields in the order `--json` shows them (a Value, not
    a NamedTuple: util/values.py)."""

    __slots__ = (
        "id", "title", "state", "reason", "waiting_reason", "priority", "branch", "worktree",
        "attempt", "attempt_id", "pid", "supervisor_pid", "alive", "heartbeat_age",
        "exit_code", "commits_ahead", "files_changed", "profile", "push_problem", "needs",
        "host", "attempts",
    )

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
    profile: str | None  # the profile of the current attempt (run/profiles.py)
    push_problem: str  # several hosts: its last push to the shared remote was rejected
    needs: list[str]  # labels a host must have to run it (worker/hosts.py)
    host: str | None  # the host daemon that claimed it (None: no host daemon)
    attempts: list[dict[str, Any]]  # every attempt, oldest first (`attempt_history`)

    def __init__(self, **fields: Any) -> None:
        wrong = fields.keys() ^ set(self.__slots__)
        if wrong:
            raise TypeError(f"TaskStatus: missing or unknown fields {sorted(wrong)}")
        for name, value in fields.items():
            setattr(self, name, value)

    def replace(self, **changes: Any) -> TaskStatus:
        """A copy with some fields changed."""
        return TaskStatus(**{**self.fields(), **changes})

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return {
            **self.fields(),
            "needs": list(self.needs),
            "attempts": [dict(a) for a in self.attempts],
        }


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
    tasks = [_task_row(conn, task_id)] if task_id else task_rows.task_rows(
        conn, final_states=FINAL_STATES, recent_final=recent_final, live_states=LIVE_STATES
    )
    ids = [task["id"] for task in tasks]
    attempts = {int(a["id"]): a for a in attempt_rows.current_attempt_rows(conn, ids)}
    histories = attempt_history(conn, ids)
    # The branches that exist, read from git's ref files: a merged task's is gone, and
    # counting commits on it would be two git runs per task for nothing.
    branches = task_branches(ctx.root, ctx.common) if with_git else set()
    here = _host_here(ctx)
    rejected = _push_rejections(conn, tasks)
    rows: list[TaskStatus] = []
    for task in tasks:
        current = task["current_attempt"]
        history = histories.get(task["id"], [])
        row = _status_of(
            ctx,
            task,
            attempts.get(current) if current else None,
            with_git=task["branch"] in branches,
            now=now,
            profile=next((h["profile"] for h in history if h["attempt_id"] == current), None),
            history=history,
            push_problem=_push_problem(rejected.get(task["id"])),
            here=here,
        )
        if with_git and task["state"] == APPROVED:
            row = _unless_stale(ctx, conn, task, row)
        rows.append(row)
    return rows


def attempt_history(conn: Db, task_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every attempt of these tasks with the profile it ran and how it ended, by task,
    oldest first: a few queries, whatever the number of tasks `status` shows."""
    found: dict[str, list[dict[str, Any]]] = {}
    for r in profile_rows.attempt_profile_rows(conn, task_ids):
        found.setdefault(r["task_id"], []).append({
            "number": int(r["number"]),
            "attempt_id": int(r["id"]),
            "profile": r["profile"],
            "exit_code": r["exit_code"],
            "outcome": r["outcome"],
            "detail": r["detail"] or "",
            "started_at": float(r["started_at"]),
            "ended_at": r["ended_at"],
        })
    return found


def _task_row(conn: Db, task_id: str) -> Row:
    row = task_rows.task_row(conn, task_id)
    if row is None:
        raise TaskNotFoundError(task_id=task_id)
    return row


def _host_here(ctx: RepoContext) -> str | None:
    """The host this clone is (several hosts), or None: one machine."""
    if not os.path.exists(os.path.join(ctx.worker_folder, "host")):  # most: no import, no read
        return None
    from ai_skills.worker.hosts import this_host

    found = this_host(ctx.worker_dir)
    return found.name if found is not None else None


def _agent_alive(attempt: Row, here: str | None, now: float) -> bool:
    """Whether the attempt's agent runs; another host's pid means nothing on this machine,
    so there the attempt's lease (its supervisor renews it) is the evidence."""
    if attempt["host"] != here:
        return attempt["ended_at"] is None and (attempt["lease_until"] or 0) > now
    return is_alive(attempt["agent_pid"], attempt["agent_token"])


def _push_rejections(conn: Db, tasks: list[Row]) -> dict[str, dict[str, Any]]:
    """The last rejected push of each live task that has an attempt, by task."""
    live = [t["id"] for t in tasks if t["current_attempt"] is not None and t["state"] not in _FINAL]
    if not live:
        return {}
    # Imported here: a store of finished tasks only needs none of it.
    from ai_skills.worker.store.events import push_rejections

    return push_rejections(conn, live)


def _push_problem(rejected: dict[str, Any] | None) -> str:
    """Why the task's commits are not on the shared remote, when its last push was rejected."""
    if rejected is None:
        return ""
    from ai_skills.worker.run.remote_branch import push_problem

    return push_problem(rejected)


def _unless_stale(ctx: RepoContext, conn: Db, task: Row, row: TaskStatus) -> TaskStatus:
    """The row of an approved task, shown back in review when its approval went stale."""
    # Imported here: review's modules (and the Task objects) cost `status` milliseconds it
    # rarely needs.
    from ai_skills.worker.review.records import stale_approval
    from ai_skills.worker.tasks import task_from_row

    voided = stale_approval(ctx, conn, task_from_row(task))
    if not voided:  # the next check records it (review.findings.check_task, merge, review)
        return row
    return row.replace(state=IN_REVIEW, reason=voided)


def _status_of(
    ctx: RepoContext,
    task: Row,
    attempt: Row | None,
    *,
    with_git: bool,
    now: float,
    profile: str | None,
    history: list[dict[str, Any]],
    push_problem: str,
    here: str | None,
) -> TaskStatus:
    ahead = files = None
    if with_git and attempt is not None and attempt["base_sha"]:
        try:
            ahead, files = progress_counts(
                ctx.root, base_sha=attempt["base_sha"], branch=task["branch"]
            )
        except CommandError:  # a branch deleted or moved away: no counts, reconcile names it
            ahead = files = None
    return TaskStatus(
        id=task["id"],
        title=task["title"],
        state=task["state"],
        reason=task["reason"],
        waiting_reason=task["waiting_reason"],
        priority=task["priority"],
        branch=task["branch"],
        worktree=None if task["worktree_removed"] else task["worktree"],
        attempt=attempt["number"] if attempt else None,
        attempt_id=attempt["id"] if attempt else None,
        pid=attempt["agent_pid"] if attempt else None,
        supervisor_pid=attempt["supervisor_pid"] if attempt else None,
        alive=attempt is not None and _agent_alive(attempt, here, now),
        heartbeat_age=round(now - attempt["heartbeat_at"], 1)
        if attempt is not None and attempt["heartbeat_at"] and attempt["ended_at"] is None
        else None,
        exit_code=attempt["exit_code"] if attempt else None,
        commits_ahead=ahead,
        files_changed=files,
        profile=profile,
        push_problem=push_problem,
        needs=_needs(task["needs"]),
        host=task["host"],
        attempts=history,
    )


def _needs(stored: str | None) -> list[str]:
    if not stored or stored == "[]":  # most tasks: no need to load json for them
        return []
    import json

    return list(json.loads(stored))


def log_file(conn: Db, task_id: str, *, attempt_number: int | None = None) -> Path:
    """The agent log of the current (or a numbered) attempt of a task."""
    current = _task_row(conn, task_id)["current_attempt"]
    if attempt_number is not None:
        row = attempt_rows.attempt_row_by_number(conn, task_id, attempt_number)
    elif current is not None:
        row = attempt_rows.attempt_row(conn, current)
    else:
        row = None
    if row is None:
        raise NoAttemptError(task_id=task_id, number=attempt_number)
    from pathlib import Path

    return Path(row["log_file"])


def log_finished(conn: Db, task_id: str, path: Path) -> bool:
    """True when nothing more will be written to `path`: its attempt ended, or the task did."""
    row = attempt_rows.attempt_row_by_log(conn, str(path))
    return (
        row is None
        or row["ended_at"] is not None
        or _task_row(conn, task_id)["state"] in ("cancelled", "failed")
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
