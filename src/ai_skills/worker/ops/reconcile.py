"""`worker reconcile`: compare the store with git and processes, name each difference.

Only safe repairs are applied with `fix` (reconcile_fix.py): marking provably dead runs
stalled, pruning git's record of deleted worktrees, resuming interrupted steps. Nothing that
could lose work.
"""

from __future__ import annotations

import time
from pathlib import Path

from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.hosts import Host, is_here, this_host
from ai_skills.worker.ops.reconcile_fix import STALE_CURSOR, Finding, apply_fix
from ai_skills.worker.ops.reconcile_remote import unpushed_findings
from ai_skills.worker.ops.watch import load_cursor, read_events
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.review.merge import merge_busy
from ai_skills.worker.run.agent_processes import (
    attempt_processes,
    process_groups,
)
from ai_skills.worker.run.workspace import workspace_root
from ai_skills.worker.run.worktrees import branch_sha, is_ancestor
from ai_skills.worker.states import ACTIVE, TERMINAL, TaskState
from ai_skills.worker.store import Db
from ai_skills.worker.store.attempts import attempts_with_agents
from ai_skills.worker.store.merges import unfinished_merges
from ai_skills.worker.tasks import (
    Attempt,
    Task,
    attempt_from_row,
    get_attempt,
    get_task,
    list_tasks,
    step_done,
    unfinished_steps,
)


def reconcile(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    *,
    fix: bool,
    now: float | None = None,
) -> list[Finding]:
    """All findings; with `fix`, each safe repair is applied and the finding marked fixed."""
    now = time.time() if now is None else now
    # Processes and worktrees of another host's attempts are on its machine: not ours to see.
    here = this_host(ctx.worker_dir)
    findings: list[Finding] = []
    for task in list_tasks(conn):
        findings += _task_findings(ctx, conn, task, now=now, here=here)
    findings += _orphan_processes(conn, here)
    findings += _step_findings(conn, config, now=now)
    findings += _stale_signals(conn)
    findings += _orphan_worktrees(ctx, conn, config)
    findings += _merge_findings(ctx, conn, config, now=now)
    if config.remote:
        findings += unpushed_findings(ctx, conn, config.remote)
    if fix:
        findings = [apply_fix(ctx, conn, config, f) for f in findings]
    return findings


def _task_findings(
    ctx: RepoContext, conn: Db, task: Task, *, now: float, here: Host | None
) -> list[Finding]:
    found: list[Finding] = []
    attempt = get_attempt(conn, task.current_attempt)
    local = attempt is None or is_here(attempt.host, here)
    # base_sha is recorded once the worktree exists; before that there is nothing to miss.
    made = attempt is not None and attempt.base_sha is not None and local
    if task.worktree and not task.worktree_removed and made and not Path(task.worktree).exists():
        found.append(
            Finding(
                "worktree_missing",
                task.id,
                f"worktree {task.worktree} was deleted outside worker; committed "
                f"work is on {task.branch}, uncommitted work is gone",
                "prune git's worktree record; mark a running task stalled",
            )
        )
    if attempt and local and task.state in ACTIVE:
        supervisor = is_alive(attempt.supervisor_pid, attempt.supervisor_token)
        agent = is_alive(attempt.agent_pid, attempt.agent_token)
        launched = step_done(conn, task.id, "launch", attempt_id=attempt.id)
        expired = attempt.lease_until is None or now > attempt.lease_until
        if (
            not supervisor
            and not agent
            and (launched or expired)
            and (task.state == TaskState.RUNNING)
        ):
            found.append(
                Finding(
                    "process_dead",
                    task.id,
                    f"task is running but supervisor (pid {attempt.supervisor_pid}) "
                    f"and agent (pid {attempt.agent_pid}) are gone",
                    "mark the task stalled",
                )
            )
        elif not supervisor and agent:
            found.append(
                Finding(
                    "supervisor_dead",
                    task.id,
                    f"supervisor (pid {attempt.supervisor_pid}) is gone but the "
                    f"agent (pid {attempt.agent_pid}) still runs unsupervised; "
                    f"its lease {'expired' if expired else 'will expire'}",
                    "",
                )
            )
    if attempt and attempt.head_sha and not (task.worktree_removed and task.state in TERMINAL):
        found += _branch_findings(ctx, task, attempt.head_sha)
    return found


def _orphan_processes(conn: Db, here: Host | None) -> list[Finding]:
    """Processes of an attempt that nobody supervises any more.

    The children of a killed agent, or the agent of an attempt its task moved past (in
    review, stalled, an earlier attempt). A running task's current agent without its
    supervisor is `supervisor_dead` instead: it may still finish its work.
    """
    groups = process_groups()
    found = []
    rows = attempts_with_agents(conn, running_only=False)
    for attempt in map(attempt_from_row, rows):
        if not is_here(attempt.host, here):
            continue
        if is_alive(attempt.supervisor_pid, attempt.supervisor_token):
            continue  # its supervisor stops them
        pids = attempt_processes(attempt, groups)
        if not pids or _unsupervised_agent(conn, attempt):
            continue
        task = get_task(conn, attempt.task_id)
        found.append(
            Finding(
                "orphan_processes",
                attempt.task_id,
                f"attempt {attempt.number} left pid(s) {', '.join(map(str, pids))} running "
                f"in {attempt.worktree} with no supervisor (task is {task.state.value})",
                "stop them (TERM, grace, KILL)",
                attempt_id=attempt.id,
            )
        )
    return found


def _unsupervised_agent(conn: Db, attempt: Attempt) -> bool:
    """The current agent of a task that is still active: `supervisor_dead`, not an orphan."""
    task = get_task(conn, attempt.task_id)
    return (
        task.state in ACTIVE
        and task.current_attempt == attempt.id
        and is_alive(attempt.agent_pid, attempt.agent_token)
    )


def _branch_findings(ctx: RepoContext, task: Task, recorded: str) -> list[Finding]:
    tip = branch_sha(ctx.repo_root, task.branch)
    if tip is None:
        return [
            Finding(
                "branch_missing",
                task.id,
                f"branch {task.branch} was deleted outside worker (last seen at {recorded[:12]})",
                "",
            )
        ]
    if tip != recorded and not is_ancestor(ctx.repo_root, recorded, tip):
        return [
            Finding(
                "branch_moved",
                task.id,
                f"branch {task.branch} moved outside worker: {recorded[:12]} is no "
                f"longer in its history (now {tip[:12]}); commits may have been "
                "rewritten or reset",
                "",
            )
        ]
    return []


def _step_findings(conn: Db, config: WorkerConfig, *, now: float) -> list[Finding]:
    found: list[Finding] = []
    for step in unfinished_steps(conn):
        # A step younger than one lease may still be running in another process.
        if now - step["started_at"] < config.lease_seconds:
            continue
        found.append(
            Finding(
                "unfinished_step",
                step["task_id"],
                f"step {step['name']!r} (attempt {step['attempt_id']}) started "
                f"{now - step['started_at']:.0f}s ago and never finished",
                f"resume the {step['name']} step",
            )
        )
    return found


def _merge_findings(
    ctx: RepoContext, conn: Db, config: WorkerConfig, *, now: float
) -> list[Finding]:
    # A merge that holds the lock is running right now; only an orphaned record is a finding.
    rows = unfinished_merges(conn)
    if not rows or merge_busy(ctx):
        return []
    return [
        Finding(
            "unfinished_merge",
            row["task_id"],
            f"merge of {row['task_id']!r} into {row['integration']} ({row['strategy']}) "
            f"stopped after step {row['step']!r} {now - row['started_at']:.0f}s after it began",
            "resume the merge (`worker merge ID` does the same)",
        )
        for row in rows
    ]


def _stale_signals(conn: Db) -> list[Finding]:
    since = load_cursor(conn, STALE_CURSOR)
    found = []
    for event in read_events(conn, since=since, limit=100_000):
        if event.kind == "stale_report":
            found.append(
                Finding(
                    "stale_signal",
                    event.task_id,
                    f"event {event.seq}: report {event.data.get('status')!r} from "
                    f"old attempt {event.attempt_id} was ignored; an agent of an "
                    "earlier attempt may still be running",
                    "acknowledge it",
                    seq=event.seq,
                )
            )
    return found


def _orphan_worktrees(
    ctx: RepoContext, conn: Db, config: WorkerConfig
) -> list[Finding]:
    root = workspace_root(ctx, config)
    if not root.is_dir():
        return []
    known = {t.id for t in list_tasks(conn)}
    return [
        Finding(
            "orphan_worktree",
            None,
            f"{entry} is in the worktree folder but no task {entry.name!r} exists; "
            "look at it and remove it by hand",
            "",
        )
        for entry in sorted(root.iterdir())
        if entry.name not in known
    ]
