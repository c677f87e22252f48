"""`worker start`: admission, then the checkpointed steps worktree -> prompt -> supervisor."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ai_skills.errors import AiSkillsError
from ai_skills.git import git_env, git_out
from ai_skills.worker.admission import STARTABLE, LaunchPlan, admit, attempt_runs
from ai_skills.worker.agent_procs import attempt_processes
from ai_skills.worker.cancel import stop_attempt
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import (
    AgentStillRunningError,
    BaseBranchError,
    IllegalTransitionError,
    WorkerError,
)
from ai_skills.worker.procs import is_alive, start_token
from ai_skills.worker.profiles import choose
from ai_skills.worker.prompt import render_prompt, write_atomic
from ai_skills.worker.reviews import get_review, record_change_request
from ai_skills.worker.runtimes import build_command, check_available, worker_program
from ai_skills.worker.sandbox import choose_mode
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import append_event, transaction
from ai_skills.worker.tasks import (
    Attempt,
    Task,
    get_attempt,
    get_task,
    mark_step,
    record_event,
    transition,
    update_attempt,
)
from ai_skills.worker.workspace import (
    link_skills,
    move_worktree_here,
    prepare_clone,
    workspace_path,
)
from ai_skills.worker.worktrees import branch_exists, branch_sha, dirty_paths


@dataclass(frozen=True)
class StartResult:
    """What `worker start` did."""

    task_id: str
    state: str
    admitted: bool
    reason: str
    attempt_id: int | None = None
    worktree: str | None = None
    branch: str | None = None
    supervisor_pid: int | None = None
    warnings: list[str] = field(default_factory=list)
    attempt: int | None = None  # the task's own attempt number (1, 2, ...), as status shows

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return asdict(self)


def resolve_command(
    task: Task, config: WorkerConfig, *, runtime: str | None, runtime_command: str | None
) -> list[str]:
    """The agent argv: flags on `start`, then flags given to `add`, then `.worker.toml`."""
    if runtime_command is not None or runtime:
        return build_command(runtime=runtime, runtime_command=runtime_command)
    if task.runtime_command or task.runtime:
        return build_command(runtime=task.runtime, runtime_command=task.runtime_command)
    return build_command(runtime=config.runtime, runtime_command=config.runtime_command)


def _refuse_if_agent_runs(conn: sqlite3.Connection, task: Task) -> None:
    """An agent that asked a question may wait for its answer: restarting is the user's call.

    (For other states a still-exiting attempt only defers the start; see `waiting_reason`.)
    """
    if task.state != TaskState.NEEDS_INPUT:
        return
    attempt = get_attempt(conn, task.current_attempt)
    if attempt is not None and attempt_runs(attempt):
        raise AgentStillRunningError(task_id=task.id, attempt=attempt.number)


def _end_stalled_agent(conn: sqlite3.Connection, config: WorkerConfig, task: Task) -> None:
    """Stalled for lack of progress, an agent may still run (hung, or stuck on a prompt).

    Restarting is the user's decision, so end that agent first. The task leaves `stalled`
    for `queued` before the agent is stopped, so its supervisor records the exit without
    judging the task (it only judges running or stalled tasks).
    """
    previous = get_attempt(conn, task.current_attempt)
    if task.state != TaskState.STALLED or previous is None:
        return
    if not attempt_runs(previous) and not attempt_processes(previous):
        return
    with transaction(conn):
        current = get_task(conn, task.id)
        if current.version != task.version:
            return  # someone acted meanwhile; admission re-checks the world anyway
        transition(
            conn,
            current,
            TaskState.QUEUED,
            action="restart",
            reason="restart requested; stopping the stalled agent",
        )
    stop_attempt(conn, task, grace=config.cancel_grace_seconds)


def start_checks(
    ctx: RepoContext, conn: sqlite3.Connection, task: Task, argv: list[str]
) -> list[str]:
    """Refuse what would fail later; return warnings the user should read."""
    if task.state not in STARTABLE:
        raise IllegalTransitionError(
            task_id=task.id, current=task.state.value, target="running", action="start"
        )
    _refuse_if_agent_runs(conn, task)
    check_available(argv, task_id=task.id)
    if not branch_exists(ctx.repo_root, task.branch) and not branch_exists(
        ctx.repo_root, task.base
    ):
        raise BaseBranchError(branch=task.base, repo=str(ctx.repo_root))
    dirty = dirty_paths(ctx.repo_root)
    if not dirty:
        return []
    return [
        f"the main checkout {ctx.repo_root} has {len(dirty)} uncommitted change(s); they are "
        f"NOT part of task {task.id!r}, whose worktree starts from the last commit of "
        f"{task.base!r}. Commit them first if the agent needs them."
    ]


def start_task(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    config: WorkerConfig,
    task_id: str,
    *,
    runtime: str | None = None,
    runtime_command: str | None = None,
    message: str = "",
    walking_queue: bool = False,
) -> StartResult:
    """Admit a task (or record why it waits) and launch its agent under a supervisor.

    `message` (an answer to the agent's question, or new instructions) goes into the next
    attempt's prompt. `walking_queue`: the caller (tick) tries waiting tasks in queue order.
    """
    task = get_task(conn, task_id)
    if task.state == TaskState.RUNNING and not (message or runtime or runtime_command):
        return already_running(conn, task)
    choice = choose(conn, task, config, explicit=bool(runtime) or runtime_command is not None)
    argv = choice.argv or resolve_command(
        task, config, runtime=runtime, runtime_command=runtime_command
    )
    warnings = start_checks(ctx, conn, task, argv)
    sandbox, why = choose_mode(config.sandbox)
    if sandbox == "none":
        warnings.append(
            f"no sandbox: {why}; the agent can write anywhere you can (the main checkout, the "
            "store, other tasks); only the role checks and containment's snapshots stand in "
            "its way (docs/worker.md, Containment)"
        )
    _end_stalled_agent(conn, config, task)
    if message:
        record_change_request(conn, task_id, message, count=False)
    plan = LaunchPlan(
        command=argv,
        worktree=workspace_path(ctx, config, task_id),
        runs_dir=ctx.worker_dir / "runs" / task_id,
        lease_seconds=config.lease_seconds,
        runtime=replace(
            choice.runtime,
            sandbox=sandbox,
            sandbox_state=list(config.sandbox_state),
            sandbox_writable=list(config.sandbox_writable),
        ),
    )
    admission = admit(
        conn,
        task_id,
        plan,
        max_running=config.max_running,
        autostart=config.autostart,
        walking_queue=walking_queue,
    )
    if not admission.admitted or admission.attempt_id is None:
        return StartResult(
            task_id, get_task(conn, task_id).state.value, False, admission.reason, warnings=warnings
        )
    result = launch_attempt(ctx, conn, config, admission.attempt_id)
    return replace(result, warnings=warnings)


def already_running(conn: sqlite3.Connection, task: Task) -> StartResult:
    """`start` of a task that runs already (the daemon's autostart, or a second `start`).

    A supervisor that runs `worker add` then `worker start` while the daemon autostarts
    queued work races it; the outcome it asked for holds, so this is not an error.
    """
    attempt = get_attempt(conn, task.current_attempt)
    assert attempt is not None
    return StartResult(
        task.id,
        task.state.value,
        True,
        "already running",
        attempt.id,
        attempt.worktree,
        attempt.branch,
        attempt.supervisor_pid,
        attempt=attempt.number,
    )


def launch_attempt(
    ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig, attempt_id: int
) -> StartResult:
    """Run (or resume) the launch steps of an admitted attempt; each checks the world first."""
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None
    task = get_task(conn, attempt.task_id)
    try:
        attempt = _prepare_worktree(ctx, conn, task, attempt)
        _write_prompt(ctx, conn, config, task, attempt)
        pid = _ensure_supervisor(ctx, conn, config, attempt)
    except AiSkillsError as exc:
        _abandon_launch(conn, task.id, attempt_id, str(exc))
        raise
    with transaction(conn):
        mark_step(conn, task.id, "launch", attempt_id=attempt_id, done=True)
    state = get_task(conn, task.id).state.value
    return StartResult(
        task.id,
        state,
        True,
        "",
        attempt_id,
        attempt.worktree,
        attempt.branch,
        pid,
        attempt=attempt.number,
    )


def _prepare_worktree(
    ctx: RepoContext, conn: sqlite3.Connection, task: Task, attempt: Attempt
) -> Attempt:
    path = Path(attempt.worktree)
    moved = move_worktree_here(ctx.repo_root, task_id=task.id, branch=task.branch, path=path)
    if moved is not None:
        record_event(
            conn,
            kind="worktree_moved",
            task_id=task.id,
            attempt_id=attempt.id,
            data={"from": str(moved), "to": str(path)},
        )
    row = conn.execute(
        "SELECT worktree FROM attempts WHERE task_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
        (task.id, attempt.id),
    ).fetchone()
    made = prepare_clone(ctx, task, path, earlier=Path(row[0]) if row else None)
    if made.moved_from is not None:
        record_event(
            conn, kind="worktree_moved", task_id=task.id, attempt_id=attempt.id,
            data={"from": str(made.moved_from), "to": str(path)},
        )
    if made.converted:
        record_event(
            conn, kind="workspace_converted", task_id=task.id, attempt_id=attempt.id,
            data={"path": str(path), "from": "linked worktree", "to": "clone"},
        )
    created = made.created
    links = link_skills(ctx.repo_root, path.resolve(), os.environ)
    if links.linked or links.problems:
        record_event(
            conn,
            kind="skills_linked",
            task_id=task.id,
            attempt_id=attempt.id,
            data=links.as_dict(),
        )
    if attempt.base_sha is None:
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
                data={"path": str(path), "created": created, "base_sha": base_sha},
            )
    refreshed = get_attempt(conn, attempt.id)
    assert refreshed is not None
    return refreshed


def _write_prompt(
    ctx: RepoContext,
    conn: sqlite3.Connection,
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
    write_atomic(Path(attempt.prompt_file), text)


def _ensure_supervisor(
    ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig, attempt: Attempt
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
        "ai_skills.worker.supervisor",
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


def _abandon_launch(conn: sqlite3.Connection, task_id: str, attempt_id: int, why: str) -> None:
    """Put a task whose launch failed back in the queue, with the reason, and end the attempt."""
    with transaction(conn):
        task = get_task(conn, task_id)
        update_attempt(conn, attempt_id, lease_until=None, ended_at=time.time())
        mark_step(
            conn, task_id, "launch", attempt_id=attempt_id, done=True, detail=f"failed: {why}"
        )
        if task.current_attempt == attempt_id and task.state == TaskState.RUNNING:
            transition(conn, task, TaskState.QUEUED, action="start", reason=f"start failed: {why}")
