"""Helpers for worker tests: the scripted agent command, polling, quick task set-up."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.process_identity import is_alive, stop_process
from ai_skills.worker.run.agent_processes import launched, stop_attempt_processes
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.store import Db, connect, transaction
from ai_skills.worker.tasks import NewTask, add_task, get_attempt, get_task, update_attempt


def git(cwd: Path, *args: str) -> str:
    """Run real git in `cwd` and return stdout."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


AGENT = Path(__file__).parent / "agents" / "scripted_agent.py"

FAST_CONFIG = """\
max_running = {max_running}
heartbeat_seconds = 0.1
lease_seconds = 1.5
cancel_grace_seconds = 2
tick_seconds = 0.2
runtime_command = {command}
"""


def on_postgresql() -> bool:
    """Whether this is the PostgreSQL pass (conftest.py put a database in WORKER_STORE)."""
    return os.environ.get("WORKER_STORE", "").startswith("postgres")


def store_at(path: Path) -> Db:
    """A store of its own for a test without a repository, on the backend under test: the
    SQLite file `path`, or on the PostgreSQL run a schema named after `path` in the test's
    database (WORKER_STORE), so that two paths are two stores there as well."""
    if not on_postgresql():
        return connect(path)
    url = os.environ["WORKER_STORE"]
    import psycopg

    from ai_skills.worker.store import postgres

    schema = "store_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}".encode())
    separator = "&" if "?" in url else "?"
    return postgres.connect(
        f"{url}{separator}options=-csearch_path%3D{schema}",
        repository="tests",
        password_from_environment=True,
    )


def visible_path(name: str) -> Path:
    """A path the test and a sandboxed agent both see (HOME is shown read-only in the
    sandbox; the test's tmp_path is under /tmp, which the sandbox replaces)."""
    return Path(os.environ["HOME"]) / name


def agent_command(mode: str = "done", *extra: str) -> str:
    """The scripted stand-in agent as a runtime command string."""
    return shlex.join([sys.executable, str(AGENT), "--mode", mode, *extra])


def wait_for(
    predicate: Callable[[], bool], *, timeout: float = 30.0, what: str | Callable[[], str] = ""
) -> None:
    """Poll until `predicate()` holds; fail (not hang) when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what() if callable(what) else what or predicate}")


def write_config(
    repo: Path,
    *,
    max_running: int = 3,
    command: str | None = None,
    extra: str = "",
    sandbox: str | None = None,
) -> None:
    """Write .worker.toml with fast timings and commit it (so the main checkout stays clean).

    `sandbox="none"`: the agents run without bubblewrap (the checks that apply then).
    """
    toml_command = json.dumps(command or agent_command())  # a JSON string is a TOML string
    setting = f'sandbox = "{sandbox}"\n' if sandbox else ""
    (repo / ".worker.toml").write_text(
        FAST_CONFIG.format(max_running=max_running, command=toml_command) + setting + extra
    )
    git(repo, "add", ".worker.toml")
    git(repo, "commit", "-q", "-m", "worker config")


def stop_everything(connection: sqlite3.Connection) -> None:
    """Leave no agent or supervisor behind a test (also one that is still launching)."""
    for (attempt_id,) in connection.execute("SELECT id FROM attempts").fetchall():
        attempt = get_attempt(connection, attempt_id)
        if attempt is None:
            continue
        attempt = launched(connection, attempt)
        stop_attempt_processes(attempt, grace=0)
        stop_process(attempt.supervisor_pid, attempt.supervisor_token, grace=0)


def add(conn: sqlite3.Connection, task_id: str, **kwargs: object) -> None:
    """Add a task based on `main`."""
    add_task(conn, NewTask(task_id=task_id, title=f"task {task_id}", base="main", **kwargs))  # type: ignore[arg-type]


def add_and_start(ctx: RepoContext, conn: sqlite3.Connection, task_id: str = "t1") -> int:
    """Add `task_id` and start it with the repo's .worker.toml; the id of its running attempt."""
    add(conn, task_id)
    result = start_task(ctx, conn, load_config(ctx.config_path), task_id)
    assert result.attempt_id is not None, result.reason
    return result.attempt_id


def start_with(
    repo: Path,
    ctx: RepoContext,
    conn: sqlite3.Connection,
    mode: str,
    *agent_args: str,
    task_id: str = "t1",
    sandbox: str | None = None,
) -> int:
    """Commit a config running the scripted agent in `mode`, then `add_and_start` the task."""
    write_config(repo, command=agent_command(mode, *agent_args), sandbox=sandbox)
    return add_and_start(ctx, conn, task_id)


def state_of(conn: sqlite3.Connection, task_id: str) -> str:
    return get_task(conn, task_id).state.value


def wait_state(conn: sqlite3.Connection, task_id: str, state: str, timeout: float = 30) -> None:
    wait_for(
        lambda: state_of(conn, task_id) == state,
        timeout=timeout,
        what=lambda: f"{task_id} to be {state} (is {state_of(conn, task_id)})",
    )


def processes_gone(conn: sqlite3.Connection, task_id: str) -> bool:
    attempt = get_attempt(conn, get_task(conn, task_id).current_attempt)
    assert attempt is not None
    return not is_alive(attempt.agent_pid, attempt.agent_token) and not is_alive(
        attempt.supervisor_pid, attempt.supervisor_token
    )


def wait_agent_running(conn: sqlite3.Connection, attempt_id: int) -> None:
    """Until the attempt's agent process runs."""

    def up() -> bool:
        a = get_attempt(conn, attempt_id)
        return a is not None and is_alive(a.agent_pid, a.agent_token)

    wait_for(up, what="the agent to start")


def wait_log(conn: sqlite3.Connection, attempt_id: int, text: str) -> str:
    """Until the attempt's agent log contains `text`; the log."""
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None
    path = Path(attempt.log_file)
    wait_for(lambda: path.exists() and text in path.read_text(), what=f"{text!r} in the log")
    return path.read_text()


def stall_once_idle(conn: sqlite3.Connection, attempt_id: int, log_text: str) -> str:
    """Make an agent that went idle after printing `log_text` stall on its next heartbeat.

    A short `stall_after_seconds` races the agent's own start on a loaded machine (it can be
    stopped before it gets to `log_text`). Instead, once the supervisor has recorded all of the
    agent's output and its commit, the last progress is moved back past the default limit; the
    real supervisor then judges the stall and stops the agent. Returns the log.
    """
    log = wait_log(conn, attempt_id, log_text)
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None
    head = git(Path(attempt.worktree), "rev-parse", "HEAD")  # the agent's last commit

    def seen_everything() -> bool:
        attempt = get_attempt(conn, attempt_id)
        assert attempt is not None
        size = Path(attempt.log_file).stat().st_size
        return attempt.head_sha == head and attempt.log_size == size

    wait_for(seen_everything, what="the supervisor to record the agent's output and commit")
    with transaction(conn):
        update_attempt(conn, attempt_id, progress_at=time.time() - 100_000)
    return log


def event_kinds(conn: sqlite3.Connection, task_id: str) -> list[str]:
    """The kinds of a task's events, oldest first."""
    rows = conn.execute("SELECT kind FROM events WHERE task_id = ? ORDER BY seq", (task_id,))
    return [kind for (kind,) in rows]
