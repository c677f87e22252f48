"""Interrupted steps resume, idle agents stall, prompts and config fail loudly."""

from __future__ import annotations

import json
import shlex
import sqlite3
from pathlib import Path

import pytest
from worker_helpers import add, add_and_start, agent_command, git, wait_for, wait_state

from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ConfigError
from ai_skills.worker.ops.reconcile import reconcile
from ai_skills.worker.run.admission import LaunchPlan, admit
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.prompt import render_prompt
from ai_skills.worker.run.workspace import workspace_path
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import transaction
from ai_skills.worker.tasks import get_task, mark_step, transition


def _age_steps(conn: sqlite3.Connection, seconds: float) -> None:
    conn.execute("UPDATE steps SET started_at = started_at - ?", (seconds,))


def test_interrupted_launch_is_named_and_resumed_by_reconcile_fix(
    ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = load_config(ctx.config_path)
    add(conn, "t1")
    # `worker start` died right after admission: running, attempt created, nothing launched.
    plan = LaunchPlan(
        command=shlex.split(str(config.runtime_command)),
        worktree=workspace_path(ctx, config, "t1"),
        runs_dir=ctx.worker_dir / "runs" / "t1",
        lease_seconds=config.lease_seconds,
    )
    assert admit(conn, "t1", plan, max_running=3).admitted
    assert reconcile(ctx, conn, config, fix=False) == []  # too young to judge
    _age_steps(conn, 3600)
    (finding,) = reconcile(ctx, conn, config, fix=False)
    assert finding.kind == "unfinished_step" and "'launch'" in finding.detail
    (fixed,) = reconcile(ctx, conn, config, fix=True)
    assert fixed.fixed
    wait_state(conn, "t1", "in_review")


def test_interrupted_cancel_is_resumed_with_its_options(
    ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = load_config(ctx.config_path)
    add_and_start(ctx, conn)
    wait_state(conn, "t1", "in_review")
    worktree = Path(get_task(conn, "t1").worktree or "")
    (worktree / "notes.txt").write_text("not committed yet\n")
    # `worker cancel --cleanup` died after moving the state and before any side effect.
    with transaction(conn):
        task = get_task(conn, "t1")
        transition(conn, task, TaskState.CANCELLED, action="cancel", reason="r")
        mark_step(
            conn, "t1", "cancel", done=False, detail=json.dumps({"cleanup": True, "reason": "r"})
        )
    _age_steps(conn, 3600)
    kinds = [(f.kind, f.fixed) for f in reconcile(ctx, conn, config, fix=True)]
    assert kinds == [("unfinished_step", True)]
    assert not worktree.exists()
    assert git(ctx.repo_root, "show", "worker/t1:notes.txt") == "not committed yet"
    assert reconcile(ctx, conn, config, fix=False) == []


@pytest.mark.slow
def test_agent_without_output_or_commits_stalls_after_the_limit(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    (worker_repo / ".worker.toml").write_text(
        "heartbeat_seconds = 0.1\nlease_seconds = 1.5\nstall_after_seconds = 1.0\n"
        f"runtime_command = {json.dumps(agent_command('hang'))}\n"
    )
    git(worker_repo, "commit", "-qam", "short stall limit")
    add_and_start(ctx, conn)
    wait_state(conn, "t1", "stalled")
    task = get_task(conn, "t1")
    assert task.reason.startswith("no output or commit for") and "(limit 1s)" in task.reason


def test_a_stalled_agent_that_reports_again_is_running_again(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    from ai_skills.worker.run.report import report

    (worker_repo / ".worker.toml").write_text(
        f"runtime_command = {json.dumps(agent_command('hang'))}\n"
    )
    git(worker_repo, "commit", "-qam", "hang")
    add_and_start(ctx, conn)
    with transaction(conn):
        task = get_task(conn, "t1")
        transition(conn, task, TaskState.STALLED, action="liveness", reason="x")
    result = report(conn, task_id="t1", attempt_id=None, status="working", message="back")
    assert result.accepted and get_task(conn, "t1").state.value == "running"


def test_prompt_template_missing_variable_is_an_error(tmp_path: Path) -> None:
    template = tmp_path / "prompt.j2"
    template.write_text("Do {{ task.title }} by {{ deadline }}\n")
    with pytest.raises(ConfigError, match="'deadline' is undefined"):
        render_prompt({"task": {"title": "x"}}, template_path=template)


def test_custom_prompt_template_from_config_is_used(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    (worker_repo / "prompt.j2").write_text("Task {{ task.id }} on {{ task.branch }}\n")
    with open(worker_repo / ".worker.toml", "a") as handle:
        handle.write('prompt_template = "prompt.j2"\n')
    git(worker_repo, "add", "-A")
    git(worker_repo, "commit", "-qm", "template")
    add(conn, "t1")
    result = start_task(ctx, conn, load_config(ctx.config_path), "t1")
    prompt = ctx.worker_dir / "runs" / "t1" / "1" / "prompt.md"
    assert prompt.read_text() == "Task t1 on worker/t1\n"
    assert result.admitted
    wait_for(lambda: get_task(conn, "t1").state.value == "in_review")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_running = 0\n", "max_running: Input should be greater than or equal to 1"),
        ("max_running = [\n", "cannot read"),
        ("runtime = 3\n", "runtime: Input should be a valid string"),
    ],
)
def test_bad_config_names_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".worker.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


def test_missing_config_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / ".worker.toml")
    assert (config.max_running, config.runtime, config.stall_after_seconds) == (3, None, 900.0)
