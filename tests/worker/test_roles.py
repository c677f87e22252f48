"""Roles: deciding commands are refused inside a worker, reports only about its own attempt."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from worker_helpers import (
    add_and_start,
    git,
    on_postgresql,
    start_with,
    wait_for,
    wait_state,
)

from ai_skills.cli.worker import main
from ai_skills.worker.context import RepoContext
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.roles import (
    COMMAND_RULES,
    Role,
    RoleRefusedError,
    ancestor_pids,
    check_command,
    command_of,
    role_of,
)
from ai_skills.worker.tasks import get_attempt, get_task

INSIDE = {"WORKER_TASK_ID": "t1", "WORKER_ATTEMPT_ID": "7"}


@pytest.mark.parametrize(
    ("args", "role"),
    [
        (["status"], Role.READ),
        (["status", "t1", "--json"], Role.READ),
        (["logs", "t1"], Role.READ),
        (["watch", "--follow"], Role.READ),
        (["reconcile"], Role.READ),
        (["reconcile", "--fix"], Role.DECIDE),
        (["daemon", "status"], Role.READ),
        (["daemon", "start"], Role.DECIDE),
        (["report", "--status", "done"], Role.REPORT),
        (["review", "t1", "--approve"], Role.DECIDE),
        (["review", "t1", "--request-changes", "--reason", "x"], Role.DECIDE),
        (["review", "t1", "--some-future-flag"], Role.DECIDE),
        (["review", "t1", "--json"], Role.READ),
        (["conflicts"], Role.READ),
        (["stats", "--json"], Role.READ),
        (["merge", "t1"], Role.DECIDE),
        (["cancel", "--taskId=t1", "--reason=x"], Role.DECIDE),
        (["add", "t2", "--title", "x"], Role.DECIDE),
        (["start", "t2"], Role.DECIDE),
        (["gate", "t1"], Role.DECIDE),
        (["some-future-command"], Role.DECIDE),
    ],
)
def test_every_command_has_one_role_from_the_table(args: list[str], role: Role) -> None:
    assert role_of(*command_of(args)) == role


def test_commands_of_this_build_are_all_in_the_table() -> None:
    import typer

    from ai_skills.cli.worker import app

    group = typer.main.get_command(app)
    names = set(group.commands)  # type: ignore[attr-defined]
    assert names - {"daemon"} <= set(COMMAND_RULES)


@pytest.mark.parametrize(
    "args",
    [
        ["review", "t1", "--approve"],
        ["merge", "t1"],
        ["cancel", "t1", "--reason", "x"],
        ["add", "t2", "--title", "x"],
        ["start", "t2"],
        ["tick"],
        ["reconcile", "--fix"],
        ["daemon", "stop"],
        ["frobnicate"],
    ],
)
def test_deciding_commands_are_refused_inside_a_worker(args: list[str], tmp_path: Path) -> None:
    with pytest.raises(RoleRefusedError) as info:
        check_command(args, cwd=tmp_path, environ=INSIDE, interactive=True)
    message = str(info.value)
    assert message.startswith(f"`worker {args[0]}")
    assert "only the supervisor may run it" in message
    assert "task 't1' (attempt id 7)" in message
    assert info.value.exit_code == 4


@pytest.mark.parametrize(
    "args", [["status"], ["logs", "t1"], ["watch"], ["reconcile"], ["merge", "--help"]]
)
def test_reads_are_always_allowed(args: list[str], tmp_path: Path) -> None:
    assert check_command(args, cwd=tmp_path, environ=INSIDE, interactive=False) == Role.READ


def test_a_worker_reports_only_on_its_own_task_and_attempt(tmp_path: Path) -> None:
    own = ["report", "--status", "done"]
    assert check_command(own, cwd=tmp_path, environ=INSIDE) == Role.REPORT
    assert check_command([*own, "--task", "t1", "--attempt=7"], cwd=tmp_path, environ=INSIDE)
    with pytest.raises(RoleRefusedError, match="only on its own task"):
        check_command([*own, "--task", "t2"], cwd=tmp_path, environ=INSIDE)
    with pytest.raises(RoleRefusedError, match="only on its own current attempt"):
        check_command([*own, "--attempt", "6"], cwd=tmp_path, environ=INSIDE)


def test_the_cli_refuses_before_the_command_exists_or_runs(
    worker_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(worker_repo)
    assert main(["add", "t1", "--title", "x"]) == 0
    monkeypatch.setenv("WORKER_TASK_ID", "t1")
    capsys.readouterr()
    # `merge` and `review` may not exist on this build: exit 4 (not click's 2) shows that
    # the roles check ran first.
    for args in (["review", "t1", "--approve"], ["merge", "t1"], ["cancel", "t1", "--reason", "x"]):
        assert main(args) == 4
        err = capsys.readouterr().err
        assert err.startswith(f"worker: error: `worker {args[0]}` refused: it decides about work")
    assert main(["status", "t1", "--json"]) == 0
    assert '"state": "queued"' in capsys.readouterr().out


def test_a_task_workspace_is_its_own_repository_without_the_store(
    ctx: RepoContext, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Run from a task's clone, worker acts on that clone, which has no tasks: the main
    # repository's store cannot be reached from there, with or without the variables. A
    # PostgreSQL store in WORKER_STORE is found, and refused: it belongs to the main one.
    add_and_start(ctx, conn)
    wait_state(conn, "t1", "in_review")
    worktree = Path(get_task(conn, "t1").worktree or "")
    monkeypatch.chdir(worktree)
    monkeypatch.setenv("PWD", str(worktree))
    code = main(["cancel", "t1", "--reason", "x"])
    err = capsys.readouterr().err
    if on_postgresql():
        assert code == 6 and "belongs to another repository" in err
    else:
        assert code == 3 and "unknown task 't1'" in err
    assert get_task(conn, "t1").state.value == "in_review"
    assert check_command(["cancel", "t1", "--reason", "x"], cwd=ctx.repo_root, environ={})


def test_opt_in_for_scripts_when_the_config_asks(worker_repo: Path) -> None:
    toml = worker_repo / ".worker.toml"
    toml.write_text(toml.read_text() + "require_write_opt_in = true\n")
    git(worker_repo, "commit", "-qam", "opt in")
    add_args = ["add", "t1", "--title", "x"]
    with pytest.raises(RoleRefusedError, match="WORKER_ALLOW_WRITES=1"):
        check_command(add_args, cwd=worker_repo, environ={}, interactive=False)
    ok = {"WORKER_ALLOW_WRITES": "1"}
    assert check_command(add_args, cwd=worker_repo, environ=ok, interactive=False)
    assert check_command(add_args, cwd=worker_repo, environ={}, interactive=True)
    assert check_command(["status"], cwd=worker_repo, environ={}, interactive=False)


def test_ancestors_of_this_process_are_found() -> None:
    import os

    assert ancestor_pids()[0] == os.getppid()


@pytest.mark.slow
def test_an_agent_cannot_approve_merge_cancel_add_or_start(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The supervisor's own opt-in must not reach the agent.
    monkeypatch.setenv("WORKER_ALLOW_WRITES", "1")
    # Without a sandbox, where these checks are all there is (test_sandbox.py: with one).
    start_with(worker_repo, ctx, conn, "rogue", "--main", str(worker_repo), sandbox="none")
    wait_state(conn, "t1", "in_review")
    attempt = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert attempt is not None
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="t1")])
    log = Path(attempt.log_file).read_text()
    for command in ("review", "merge", "cancel", "add", "start"):
        assert f"worker {command}: exit 4: worker: error: `worker {command}` refused" in log
    assert "WORKER_TASK_ID/WORKER_ATTEMPT_ID are set" in log
    assert "WORKER_ALLOW_WRITES= --model=" in log
    # With the variables removed and from the main checkout: found as the agent's child.
    assert "it runs under that task's agent" in log
    assert get_task(conn, "t1").state.value == "in_review"
    assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 1
