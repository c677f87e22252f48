"""Helpers for review and merge tests: config with gates, tasks brought to review by an agent."""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

from worker_helpers import add, agent_command, git, processes_gone, wait_for, wait_state

from ai_skills.worker.config import WorkerConfig, load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.review.gates import gate_task
from ai_skills.worker.review.verdict import approve
from ai_skills.worker.run.launch import start_task

GATES = """
[gates]
timeout_seconds = {timeout}
test = "test -f README.md"
lint = "true"
"""


def add_review_config(repo: Path, *, extra: str = "", timeout: float = 20) -> WorkerConfig:
    """Append `[gates]` (and `extra`) to .worker.toml, commit it, return the loaded config."""
    path = repo / ".worker.toml"
    path.write_text(path.read_text() + GATES.format(timeout=timeout) + extra)
    git(repo, "add", ".worker.toml")
    git(repo, "commit", "-q", "-m", "worker gates")
    return load_config(path)


def to_review(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    config: WorkerConfig,
    task_id: str,
    *agent_args: str,
    state: str = "in_review",
) -> None:
    """Add a task whose scripted agent runs with `agent_args`, start it, wait for `state`."""
    add(conn, task_id, runtime_command=shlex.split(agent_command("done", *agent_args)))
    assert start_task(ctx, conn, config, task_id).admitted
    wait_state(conn, task_id, state)
    wait_for(lambda: processes_gone(conn, task_id), what=f"the agent of {task_id} to exit")


def approved(
    ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig, task_id: str, *args: str
) -> None:
    """A task that an agent finished, whose gates passed and that a reviewer approved."""
    to_review(ctx, conn, config, task_id, *args)
    assert gate_task(ctx, conn, config.gates, task_id).passed
    assert approve(ctx, conn, config, task_id, human=False).state == "approved"
