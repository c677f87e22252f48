"""The supervisor: a small process per attempt that owns the agent's process group.

It outlives the shell that ran `worker start` (it is double-forked into its own session),
renews the attempt's lease, records progress (log growth, HEAD moves) and the exit code,
and makes sure an agent that exits without reporting `done` never stays `running`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from ai_skills.util.git import git_env
from ai_skills.worker.context import RepoContext
from ai_skills.worker.process_identity import is_alive, signal_group, start_token
from ai_skills.worker.run import (
    containment,
    isolation,
    profiles,
    remote_branch,
)
from ai_skills.worker.run.agent_exit import append_and_finish, finish
from ai_skills.worker.run.agent_processes import stop_attempt_processes
from ai_skills.worker.run.heartbeat import Limits, beat, stalled
from ai_skills.worker.run.rate_limit_watch import LimitWatch
from ai_skills.worker.run.store_outage import note_outage, outlast, store_errors
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import append_event, open_store, transaction
from ai_skills.worker.tasks import (
    Attempt,
    get_attempt,
    get_task,
    record_event,
    update_attempt,
)


def agent_env(attempt: Attempt, *, sandboxed: bool) -> dict[str, str]:
    """The agent's environment: ours (minus git overrides) plus the task identifiers."""
    env = git_env()
    env.update(
        WORKER_TASK_ID=attempt.task_id,
        WORKER_ATTEMPT_ID=str(attempt.id),
        WORKER_PROMPT_FILE=attempt.prompt_file or "",
        # OpenCode 1.18 works in $PWD, not in its working directory: with the PWD of the
        # shell that ran `worker start` it committed in the main checkout.
        PWD=attempt.worktree,
    )
    env.pop("WORKER_ALLOW_WRITES", None)  # the supervisor's opt-in is not the agent's
    if sandboxed:
        # The sandbox keeps the SQLite store read-only; a PostgreSQL store is a network
        # away, so its address and password stay outside too (the agent reports through its
        # socket). Without a sandbox the agent keeps them: its `worker` commands must find
        # the store to know they run under an agent (roles.py), as with SQLite.
        env.pop("WORKER_STORE", None)
        env.pop("PGPASSWORD", None)
    return env


def launch_agent(
    attempt: Attempt, extra_env: dict[str, str] | None = None, argv: list[str] | None = None,
    *, sandboxed: bool = False,
) -> subprocess.Popen[bytes]:
    """Start the agent in its worktree, in a new process group, prompt on stdin."""
    log_path = Path(attempt.log_file)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log, open(attempt.prompt_file or os.devnull, "rb") as prompt:
        return subprocess.Popen(
            argv or attempt.command,
            cwd=attempt.worktree,
            stdin=prompt,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**agent_env(attempt, sandboxed=sandboxed), **(extra_env or {})},
            start_new_session=True,
        )


def supervise(db: Path, attempt_id: int, limits: Limits, *, remote: str | None = None) -> int:
    """Run one attempt's agent to its end; return the agent's exit code.

    With `remote` (several hosts), the branch is pushed there whenever it moved.
    """
    ctx = _repo_of(db)
    # The store may be away for a moment (a PostgreSQL restart) just as the launch hands over.
    conn = outlast(lambda: open_store(ctx), what="starting")
    attempt = outlast(lambda: get_attempt(conn, attempt_id), what="starting")
    if attempt is None or attempt.ended_at is not None:
        return 2
    if (
        attempt.supervisor_pid
        and attempt.supervisor_pid != os.getpid()
        and is_alive(attempt.supervisor_pid, attempt.supervisor_token)
    ):
        return 3  # another supervisor already owns this attempt
    me = os.getpid()

    def claim() -> None:
        with transaction(conn):
            update_attempt(conn, attempt_id, supervisor_pid=me, supervisor_token=start_token(me))

    # Every store step before the agent runs rides out an outage too: a store that restarts
    # between `running` and the agent's launch must not lose the task (store_outage.py).
    outlast(claim, what="starting")
    stop_requested: list[int] = []
    agent: subprocess.Popen[bytes] | None = None

    # Installed before the agent exists: a TERM that arrives while we launch it must still
    # reach it, or a cancel right after start would leave an orphan agent behind.
    def forward(signum: int, _frame: FrameType | None) -> None:
        stop_requested.append(signum)
        if agent is not None:
            signal_group(agent.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    task = outlast(lambda: get_task(conn, attempt.task_id), what="starting")
    if task.current_attempt != attempt_id or task.state != TaskState.RUNNING:
        # Cancelled before the agent started.
        outlast(lambda: finish(conn, attempt_id, 0, now=time.time()), what="starting")
        return 0
    repo = ctx.repo_root
    runtime = outlast(lambda: profiles.attempt_runtime(conn, attempt_id), what="starting")
    extra = outlast(lambda: profiles.agent_extra_env(conn, attempt_id), what="starting")
    mode = runtime.containment
    try:
        launch = isolation.plan_launch(ctx, attempt, runtime, {**os.environ, **extra})
    except OSError as exc:
        unprepared = f"cannot prepare the sandbox: {exc}"
        outlast(lambda: append_and_finish(conn, attempt, unprepared), what="recording the end")
        return 127
    if launch.layout is None:
        outlast(lambda: containment.before_agent(conn, attempt, repo, mode=mode),
                what="taking the containment snapshot")  # fmt: skip
    watch = isolation.CloneWatch(ctx, attempt, sandboxed=launch.layout is not None)
    channel = isolation.open_channel(ctx, attempt, watch)
    # Half a lease at most: a remote that hangs must not hold up the heartbeat for long.
    pusher = remote_branch.BranchPusher(
        repo, remote, attempt, timeout=max(5.0, limits.lease / 2)
    ) if remote else None
    try:
        agent = launch_agent(
            attempt, {**extra, **launch.env}, launch.argv, sandboxed=launch.layout is not None
        )
    except OSError as exc:
        channel.close()
        why = f"cannot run {attempt.command[0]!r}: {exc}"
        outlast(lambda: append_and_finish(conn, attempt, why), what="recording the end")
        return 127
    if stop_requested:
        signal_group(agent.pid, stop_requested[0])
    started = agent

    def record_start() -> Attempt:
        with transaction(conn):
            update_attempt(conn, attempt_id, agent_pid=started.pid,
                           agent_token=start_token(started.pid))  # fmt: skip
            append_event(
                conn,
                kind="agent_started",
                task_id=attempt.task_id,
                attempt_id=attempt_id,
                data={"pid": started.pid, "supervisor_pid": me, "command": attempt.command,
                      "sandbox": runtime.sandbox},
            )
        return get_attempt(conn, attempt_id) or attempt

    fresh = outlast(record_start, what="recording the agent's start")
    limits_seen = LimitWatch(Path(attempt.log_file), runtime.rules)
    while True:
        try:
            code = agent.wait(timeout=limits.heartbeat)
            break
        except subprocess.TimeoutExpired:
            watch.fetch()
            try:
                fresh = beat(conn, fresh, limits, now=time.time(), repo=repo)
                if pusher:
                    pusher.push(conn)
                if stalled(conn, fresh):
                    stop_attempt_processes(fresh, grace=limits.grace)
                if limits_seen.check(agent.pid, now=time.time()):
                    record_event(
                        conn, kind="rate_limit_seen", task_id=attempt.task_id,
                        attempt_id=attempt_id, data={"evidence": limits_seen.verdict},
                    )
            except store_errors() as exc:  # the agent works on; the next heartbeat retries
                note_outage("heartbeat", exc)
    # Children the agent left behind would keep the worktree busy and run beside the next
    # attempt; the group is ours.
    stop_attempt_processes(fresh, grace=limits.grace)
    channel.close()
    watch.fetch(force=True)
    last = fresh

    def last_beat() -> None:
        beat(conn, last, limits, now=time.time(), repo=repo)
        if pusher:  # before the task leaves `running`: a reviewer elsewhere fetches it
            pusher.push(conn, final=True)

    outlast(last_beat, what="recording the agent's end")
    outlast(lambda: isolation.after_agent(conn, attempt, launch, repo, mode=mode),
            what="comparing with the containment snapshot")  # fmt: skip
    outlast(lambda: finish(conn, attempt_id, code, now=time.time(), limited=limits_seen.verdict),
            what="recording the agent's end")  # fmt: skip
    return code


def _repo_of(db: Path) -> RepoContext:
    """The repository whose store is `db` (`<root>/.git/worker/worker.db`)."""
    from ai_skills.worker.context import find_repo

    return find_repo(db.parent.parent)


def _detach(argv: list[str]) -> int:
    """Second fork: start the real supervisor in a new session, print its pid, return."""
    db = Path(argv[argv.index("--db") + 1])
    attempt = argv[argv.index("--attempt") + 1]
    log_path = db.parent / "logs" / f"supervisor-{attempt}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "ai_skills.worker.run.supervisor", *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    sys.stdout.write(f"{child.pid}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m ai_skills.worker.run.supervisor`."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="worker-supervisor")
    parser.add_argument("--detach", action="store_true")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--attempt", type=int, required=True)
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--stall-after", type=float, default=900.0)
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("--remote", default=None)
    args = parser.parse_args(args_list)
    if args.detach:
        return _detach([a for a in args_list if a != "--detach"])
    limits = Limits(
        heartbeat=args.heartbeat, lease=args.lease, stall_after=args.stall_after, grace=args.grace
    )
    return supervise(args.db, args.attempt, limits, remote=args.remote)


if __name__ == "__main__":
    sys.exit(main())
