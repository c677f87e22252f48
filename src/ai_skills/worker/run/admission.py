"""Admission: the WIP limit, scope overlaps and a host's labels decide whether a task may
start now, and the claim that moves it to running (on one host only)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills.worker.errors import IllegalTransitionError
from ai_skills.worker.hosts import Host, gone_elsewhere, is_here
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.run.agent_processes import Groups, attempt_processes, may_run, process_groups
from ai_skills.worker.run.profiles import AttemptRuntime, record_attempt_runtime
from ai_skills.worker.run.rate_limit_fallback import retry_wait
from ai_skills.worker.run.scopes import scopes_overlap
from ai_skills.worker.states import ACTIVE, TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store import attempts as attempt_rows
from ai_skills.worker.store import tasks as task_rows
from ai_skills.worker.tasks import (
    Attempt,
    Task,
    attempt_from_row,
    get_attempt,
    get_task,
    list_tasks,
    mark_step,
    transition,
)

# needs_input is startable once its agent has exited: the new attempt carries the answer.
STARTABLE = frozenset(
    {TaskState.QUEUED, TaskState.STALLED, TaskState.CHANGES_REQUESTED, TaskState.NEEDS_INPUT}
)


@dataclass(frozen=True)
class Admission:
    """The outcome of one admission check."""

    task_id: str
    admitted: bool
    reason: str
    attempt_id: int | None = None


@dataclass(frozen=True)
class LaunchPlan:
    """What an admitted attempt will run, decided before the transaction."""

    command: list[str]
    worktree: Path
    runs_dir: Path  # per-task folder; the attempt number is appended inside
    lease_seconds: float
    runtime: AttemptRuntime | None = None  # profile, env, rate-limit rules (profiles.py)


def attempt_runs(attempt: Attempt) -> bool:
    """True while the attempt's supervisor or agent process still exists (pid + start time)."""
    return is_alive(attempt.supervisor_pid, attempt.supervisor_token) or is_alive(
        attempt.agent_pid, attempt.agent_token
    )


@dataclass(frozen=True)
class Occupancy:
    """Who holds a WIP slot: tasks in an active state, and tasks whose processes still run.

    A task that left `running` (stalled, in review, failed...) may still have an agent
    that is being stopped, or children that outlived it; they run all the same, so they
    count (`processes` says which ones, for the waiting reason).
    """

    tasks: list[Task]
    processes: dict[str, str]  # task id -> "attempt N: pid(s) ..." when not in an active state
    # Active tasks claimed by other hosts: not in our WIP count, but their scopes still count.
    elsewhere: list[Task] = field(default_factory=list)


def occupancy(conn: Db, host: Host | None = None) -> Occupancy:
    """The tasks holding this host's WIP slots right now (`host` None: one machine).

    Attempts whose end a supervisor recorded stopped their leftovers then; the others
    (still running, or their supervisor died) are looked at, /proc only when needed, and
    only those of this host: a pid means nothing on another machine.
    """
    here = None if host is None else host.name
    tasks: list[Task] = []
    elsewhere: list[Task] = []
    for task in list_tasks(conn, states=set(ACTIVE)):
        (tasks if task.host == here else elsewhere).append(task)
    counted = {t.id for t in tasks}
    processes: dict[str, str] = {}
    rows = attempt_rows.attempts_with_agents(conn, running_only=True)
    groups: Groups | None = None
    for row in rows:
        attempt = attempt_from_row(row)
        if attempt.task_id in counted or attempt.task_id in processes or not may_run(attempt):
            continue
        if not is_here(attempt.host, host):
            continue
        groups = process_groups() if groups is None else groups
        pids = attempt_processes(attempt, groups)
        if not pids:
            continue
        unsupervised = not is_alive(attempt.supervisor_pid, attempt.supervisor_token)
        hint = "; `worker reconcile --fix` stops them" if unsupervised else ", being stopped"
        processes[attempt.task_id] = (
            f"attempt {attempt.number}: pid(s) {', '.join(map(str, pids))} still run{hint}"
        )
        tasks.append(get_task(conn, attempt.task_id))
    return Occupancy(tasks, processes, elsewhere)


def _describe(task: Task, occupied: Occupancy) -> str:
    extra = occupied.processes.get(task.id)
    return f"{task.id} ({task.state.value}, {extra})" if extra else task.id


def waiting_reason(
    conn: Db,
    task: Task,
    *,
    max_running: int,
    autostart: bool = False,
    walking_queue: bool = False,
    occupied: Occupancy | None = None,
    host: Host | None = None,
) -> str:
    """Why `task` cannot start now (on `host`; None: one machine), or "" when it can.

    `walking_queue`: the caller tries the waiting tasks in queue order itself (tick), so
    the tasks ahead of this one were started or skipped already.
    """
    backoff = retry_wait(conn, task.id, now=time.time())
    if backoff:
        return backoff
    unmet = needs_unmet(task, host)
    if unmet:
        return unmet
    occupied = occupancy(conn, host) if occupied is None else occupied
    previous = get_attempt(conn, task.current_attempt)
    away = "" if previous is None else runs_elsewhere(conn, previous, host)
    if away:
        return away
    if task.id in occupied.processes or (
        previous is not None and is_here(previous.host, host) and attempt_runs(previous)
    ):
        # Never two attempts at once in one worktree: wait until the last one has exited.
        number = previous.number if previous is not None else "?"
        own = occupied.processes.get(task.id)
        return f"attempt {number} is still exiting" + (f" ({own})" if own else "")
    active = [t for t in occupied.tasks if t.id != task.id]
    if len(active) >= max_running:
        names = ", ".join(_describe(t, occupied) for t in active)
        return f"WIP limit {max_running} reached (running: {names})"
    blocked = _scope_conflict(task, active + occupied.elsewhere)
    if blocked or walking_queue:
        return blocked
    # Free slots go to waiting tasks in queue order (priority, then age); a task that waits
    # for a scope does not hold up the ones behind it.
    ahead = [
        t
        for t in waiting_tasks(conn, autostart=autostart)
        if _queue_key(t) < _queue_key(task)
        and not needs_unmet(t, host)
        and not _scope_conflict(t, active + occupied.elsewhere)
        and not retry_wait(conn, t.id, now=time.time())
    ]
    if len(ahead) >= max_running - len(active):
        names = ", ".join(t.id for t in ahead[:10]) + (", ..." if len(ahead) > 10 else "")
        return f"{len(ahead)} task(s) ahead in the queue ({names})"
    return ""


def needs_unmet(task: Task, host: Host | None) -> str:
    """Why this host may not run the task for lack of labels ("" when it may)."""
    if not task.needs:
        return ""
    wanted = ", ".join(task.needs)
    if host is None:
        return (
            f"needs label(s) {wanted}: only a host daemon with them starts it "
            f"(`worker daemon start --host NAME --label ...`)"
        )
    missing = host.missing(task.needs)
    if missing:
        return f"needs label(s) {', '.join(missing)}, which host {host.name} does not have"
    return ""


def runs_elsewhere(conn: Db, attempt: Attempt, host: Host | None) -> str:
    """Why an attempt on another machine still counts as running ("" once it is over)."""
    if is_here(attempt.host, host) or gone_elsewhere(conn, attempt, now=time.time()):
        return ""
    where = f"host {attempt.host}" if attempt.host else "the machine without a host name"
    return f"attempt {attempt.number} still runs on {where}"


def _scope_conflict(task: Task, active: list[Task]) -> str:
    for other in active:
        pairs = scopes_overlap(task.scopes, other.scopes)
        if pairs:
            mine, theirs = pairs[0]
            return f"scope {mine!r} overlaps running task {other.id!r} (scope {theirs!r})"
    return ""


def _queue_key(task: Task) -> tuple[int, float, str]:
    return (-task.priority, task.created_at, task.id)


def admit(
    conn: Db,
    task_id: str,
    plan: LaunchPlan,
    *,
    max_running: int,
    autostart: bool = False,
    walking_queue: bool = False,
    now: float | None = None,
    host: Host | None = None,
) -> Admission:
    """Take a WIP slot and create an attempt, or record why the task waits.

    The whole check-and-claim runs in one write transaction (BEGIN IMMEDIATE; PostgreSQL's
    writer lock, which every host's writers share), so two `start` calls racing for the last
    slot are serialized, and two hosts racing for one task: the second one sees the first
    one's attempt, claimed for its host in the same transaction that moved the task to running.
    """
    now = time.time() if now is None else now
    with transaction(conn):
        task = get_task(conn, task_id)
        if task.state not in STARTABLE:
            if walking_queue:  # another host (or a `start`) claimed it since the tick looked
                where = f" on host {task.host}" if task.host else ""
                return Admission(task_id, False, f"claimed meanwhile ({task.state.value}{where})")
            raise IllegalTransitionError(
                task_id=task_id, current=task.state.value, target="running", action="start"
            )
        reason = waiting_reason(
            conn,
            task,
            max_running=max_running,
            autostart=autostart,
            walking_queue=walking_queue,
            host=host,
        )
        if reason:
            record_wait(conn, task, reason, now=now)
            return Admission(task_id=task_id, admitted=False, reason=reason)
        attempt_id = _create_attempt(conn, task, plan, now=now, host=host)
        task = get_task(conn, task_id)
        transition(conn, task, TaskState.RUNNING, action="start", attempt_id=attempt_id, now=now)
        mark_step(conn, task_id, "launch", attempt_id=attempt_id, done=False)
    return Admission(task_id=task_id, admitted=True, reason="", attempt_id=attempt_id)


def record_wait(conn: Db, task: Task, reason: str, *, now: float) -> None:
    """Remember that a start was asked for and why it waits (inside the caller's transaction)."""
    task_rows.request_start(conn, task.id, reason)
    if reason != task.waiting_reason:
        append_event(conn, kind="waiting", task_id=task.id, data={"reason": reason}, now=now)


def _create_attempt(
    conn: Db, task: Task, plan: LaunchPlan, *, now: float, host: Host | None
) -> int:
    number = attempt_rows.next_attempt_number(conn, task.id)
    run_dir = plan.runs_dir / str(number)
    here = None if host is None else host.name
    attempt_id = attempt_rows.insert_attempt(
        conn,
        host=here,
        task_id=task.id,
        number=number,
        worktree=str(plan.worktree),
        branch=task.branch,
        command=json.dumps(plan.command),
        prompt_file=str(run_dir / "prompt.md"),
        log_file=str(run_dir / "agent.log"),
        # The supervisor has one lease period to show up before liveness may judge it.
        lease_until=now + plan.lease_seconds,
        heartbeat_at=now,
        progress_at=now,
        started_at=now,
    )
    if plan.runtime is not None:
        record_attempt_runtime(conn, attempt_id, plan.runtime)
    task_rows.set_current_attempt(conn, task.id, attempt_id, str(plan.worktree), host=here)
    return attempt_id


def waiting_tasks(conn: Db, *, autostart: bool) -> list[Task]:
    """Tasks waiting for admission, highest priority first, then oldest first (FIFO).

    A start that was asked for and deferred waits in any startable state; with `autostart`
    every `queued` task waits too (`stalled` and the others need someone's decision).
    """
    waiting = [
        t
        for t in list_tasks(conn, states=set(STARTABLE))
        if t.start_requested or (autostart and t.state == TaskState.QUEUED)
    ]
    return sorted(waiting, key=_queue_key)
