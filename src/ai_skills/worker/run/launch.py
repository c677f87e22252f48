"""`worker start`: the checks, admission, then the launch steps (launch_steps.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ai_skills.util.results import JsonResult
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import (
    AgentStillRunningError,
    BaseBranchError,
    IllegalTransitionError,
)
from ai_skills.worker.hosts import Host, is_here, this_host
from ai_skills.worker.review.records import record_change_request
from ai_skills.worker.run.admission import STARTABLE, LaunchPlan, admit, attempt_runs
from ai_skills.worker.run.agent_processes import attempt_processes
from ai_skills.worker.run.cancel import stop_attempt
from ai_skills.worker.run.launch_steps import launch_attempt
from ai_skills.worker.run.profiles import choose
from ai_skills.worker.run.sandbox import choose_mode
from ai_skills.worker.run.store_outage import outlast
from ai_skills.worker.run.workspace import workspace_path
from ai_skills.worker.run.worktrees import branch_exists, dirty_paths
from ai_skills.worker.runtimes import build_command, check_available
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.tasks import (
    Task,
    get_attempt,
    get_task,
    transition,
)


@dataclass(frozen=True)
class StartResult(JsonResult):
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


def resolve_command(
    task: Task, config: WorkerConfig, *, runtime: str | None, runtime_command: str | None
) -> list[str]:
    """The agent argv: flags on `start`, then flags given to `add`, then `.worker.toml`."""
    if runtime_command is not None or runtime:
        return build_command(runtime=runtime, runtime_command=runtime_command)
    if task.runtime_command or task.runtime:
        return build_command(runtime=task.runtime, runtime_command=task.runtime_command)
    return build_command(runtime=config.runtime, runtime_command=config.runtime_command)


def _refuse_if_agent_runs(conn: Db, task: Task, host: Host | None) -> None:
    """An agent that asked a question may wait for its answer: restarting is the user's call.

    (For other states a still-exiting attempt only defers the start; see `waiting_reason`.)
    """
    if task.state != TaskState.NEEDS_INPUT:
        return
    attempt = get_attempt(conn, task.current_attempt)
    # An agent on another host is admission's to judge (by that host's lease).
    if attempt is not None and is_here(attempt.host, host) and attempt_runs(attempt):
        raise AgentStillRunningError(task_id=task.id, attempt=attempt.number)


def _end_stalled_agent(conn: Db, config: WorkerConfig, task: Task, host: Host | None) -> None:
    """Stalled for lack of progress, an agent may still run (hung, or stuck on a prompt).

    Restarting is the user's decision, so end that agent first. The task leaves `stalled`
    for `queued` before the agent is stopped, so its supervisor records the exit without
    judging the task (it only judges running or stalled tasks).
    """
    previous = get_attempt(conn, task.current_attempt)
    if task.state != TaskState.STALLED or previous is None or not is_here(previous.host, host):
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
    ctx: RepoContext, conn: Db, task: Task, argv: list[str], host: Host | None = None
) -> list[str]:
    """Refuse what would fail later; return warnings the user should read."""
    if task.state not in STARTABLE:
        raise IllegalTransitionError(
            task_id=task.id, current=task.state.value, target="running", action="start"
        )
    _refuse_if_agent_runs(conn, task, host)
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
    conn: Db,
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
    In a host's clone (`worker daemon start --host`) the task starts on that host: its labels
    and WIP limit apply, and the claim names it.
    """
    host = this_host(ctx.worker_dir)
    task = get_task(conn, task_id)
    if walking_queue and task.state not in STARTABLE:
        # Another host (or a `start`) claimed it since the tick listed it.
        return StartResult(task_id, task.state.value, False, "claimed meanwhile")
    if task.state == TaskState.RUNNING and not (message or runtime or runtime_command):
        return already_running(conn, task)
    choice = choose(conn, task, config, explicit=bool(runtime) or runtime_command is not None)
    argv = choice.argv or resolve_command(
        task, config, runtime=runtime, runtime_command=runtime_command
    )
    warnings = start_checks(ctx, conn, task, argv, host)
    sandbox, why = choose_mode(config.sandbox)
    if sandbox == "none":
        warnings.append(
            f"no sandbox: {why}; the agent can write anywhere you can (the main checkout, the "
            "store, other tasks); only the role checks and containment's snapshots stand in "
            "its way (docs/worker.md, Containment)"
        )
    _end_stalled_agent(conn, config, task, host)
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
        max_running=config.max_running if host is None else host.max_running,
        autostart=config.autostart,
        walking_queue=walking_queue,
        host=host,
    )
    if not admission.admitted or admission.attempt_id is None:
        return StartResult(
            task_id, get_task(conn, task_id).state.value, False, admission.reason, warnings=warnings
        )
    attempt_id = admission.attempt_id
    # The task runs now: a store that goes away during the launch (a PostgreSQL restart)
    # must not strand it. Every launch step checks the world first, so after the wait the
    # launch starts over and skips what was done (as `reconcile --fix` does after a crash).
    attempt, pid = outlast(lambda: launch_attempt(ctx, conn, config, attempt_id),
                           what=f"launching {task_id}")  # fmt: skip
    return StartResult(
        task_id,
        get_task(conn, task_id).state.value,
        True,
        "",
        attempt.id,
        attempt.worktree,
        attempt.branch,
        pid,
        warnings=warnings,
        attempt=attempt.number,
    )


def already_running(conn: Db, task: Task) -> StartResult:
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
