"""Liveness judgement: `stalled` only on proof (lease expired and processes gone) or idleness.

Pids are proof only on the machine that started them: a daemon judges its own host's
attempts (or, without a host name, those of no host) by their processes, and another
host's attempts by that host's lease alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ai_skills.worker.hosts import Host, gone_elsewhere, is_here
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.run.agent_processes import (
    may_run,
    record_agent_stopped,
    stop_attempt_processes,
)
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.store.attempts import attempts_with_agents
from ai_skills.worker.tasks import (
    Attempt,
    attempt_from_row,
    get_attempt,
    get_task,
    list_tasks,
    step_done,
    transition,
    update_attempt,
)


@dataclass(frozen=True)
class Verdict:
    """Why a running task is no longer considered running."""

    task_id: str
    attempt_id: int
    reason: str


def judge(attempt: Attempt, *, stall_after: float, launched: bool, now: float) -> str:
    """The reason an attempt is stalled, or "" while it is (or may still be) healthy."""
    lease_expired = attempt.lease_until is None or now > attempt.lease_until
    supervisor = is_alive(attempt.supervisor_pid, attempt.supervisor_token)
    agent = is_alive(attempt.agent_pid, attempt.agent_token)
    if lease_expired and not supervisor and not agent:
        if not launched and attempt.supervisor_pid is None:
            return "the launch never finished (no supervisor was started)"
        code = "" if attempt.exit_code is None else f", exit code {attempt.exit_code}"
        return f"supervisor and agent are gone and the lease expired{code}"
    idle = now - (attempt.progress_at or attempt.started_at)
    if idle > stall_after:
        return f"no output or commit for {idle:.0f}s (limit {stall_after:.0f}s)"
    return ""


def liveness_pass(
    conn: Db,
    *,
    stall_after: float,
    grace: float = 10.0,
    now: float | None = None,
    host: Host | None = None,
) -> list[Verdict]:
    """Mark running tasks stalled when the evidence says so; return what was marked.

    A stalled task keeps no process: whatever still runs of its agent's group (a hung
    agent, or children that outlived a killed agent) is stopped, TERM then KILL after
    `grace`, before this returns and so before the next admission. An attempt of another
    host stalls when that host's lease and the attempt's own ran out (hosts.gone_elsewhere);
    its processes are that host's to stop.
    """
    now = time.time() if now is None else now
    verdicts: list[Verdict] = []
    for task in list_tasks(conn, states={TaskState.RUNNING}):
        attempt = get_attempt(conn, task.current_attempt)
        if attempt is None:
            continue
        if attempt.host is not None and not is_here(attempt.host, host):
            # An attempt that recorded its end moves its task itself; only silence is judged.
            reason = "" if attempt.ended_at else gone_elsewhere(conn, attempt, now=now)
            if reason and _mark_stalled(conn, task.id, attempt.id, task.version, reason, now=now):
                verdicts.append(Verdict(task.id, attempt.id, reason))
            continue
        if not is_here(attempt.host, host):
            continue  # one machine's attempt seen from a host: that machine's tick judges it
        launched = step_done(conn, task.id, "launch", attempt_id=attempt.id)
        reason = judge(attempt, stall_after=stall_after, launched=launched, now=now)
        if reason and _mark_stalled(conn, task.id, attempt.id, task.version, reason, now=now):
            stop_attempt_processes(attempt, grace=grace)
            seal_if_unsupervised(conn, attempt.id, now=time.time())
            verdicts.append(Verdict(task.id, attempt.id, reason))
    if host is not None:
        stop_taken_attempts(conn, host, grace=grace)
    return verdicts


# A task in these states keeps no process (or never will again), whoever moved it there.
_LET_GO = frozenset({TaskState.STALLED, TaskState.CANCELLED})


def stop_taken_attempts(conn: Db, host: Host, *, grace: float) -> list[int]:
    """Stop what still runs here of this host's attempts that were taken from it.

    While a host is cut off from the database, another host may stall its task (its lease
    ran out), cancel it, or resume it; its agent ran on meanwhile. Back in touch, the host
    stops that agent, so the task never runs on two hosts. Returns the attempts stopped.
    """
    stopped: list[int] = []
    for row in attempts_with_agents(conn, running_only=True):
        attempt = attempt_from_row(row)
        if attempt.host != host.name or not may_run(attempt):
            continue
        task = get_task(conn, attempt.task_id)
        if task.current_attempt == attempt.id and task.state not in _LET_GO:
            continue
        outcome = stop_attempt_processes(attempt, grace=grace)
        seal_if_unsupervised(conn, attempt.id, now=time.time())
        why = f"the task was {task.state.value} while host {host.name} ran it"
        if record_agent_stopped(conn, attempt, outcome, reason=why):
            stopped.append(attempt.id)
    return stopped


def seal_if_unsupervised(conn: Db, attempt_id: int, *, now: float) -> None:
    """End an attempt whose supervisor died: nobody else will record that it is over."""
    attempt = get_attempt(conn, attempt_id)
    if attempt is None or attempt.ended_at is not None:
        return
    if is_alive(attempt.supervisor_pid, attempt.supervisor_token):
        return  # it records the exit itself
    with transaction(conn):
        update_attempt(conn, attempt_id, ended_at=now, lease_until=now)


def _mark_stalled(
    conn: Db,
    task_id: str,
    attempt_id: int,
    version: int,
    reason: str,
    *,
    now: float,
) -> bool:
    with transaction(conn):
        task = get_task(conn, task_id)
        # Someone acted since we looked (a report, a cancel): their word is newer than ours.
        if task.version != version or task.current_attempt != attempt_id:
            return False
        transition(conn, task, TaskState.STALLED, action="liveness", reason=reason, now=now)
    return True
