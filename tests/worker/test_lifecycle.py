"""Lifecycle: killed agents stall (never fail), stalled agents are stopped with their whole
process group, WIP counts live processes, orphans are found, failed tasks can be retried."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    agent_command,
    event_kinds,
    git,
    processes_gone,
    stall_once_idle,
    start_with,
    wait_for,
    wait_log,
    wait_state,
    write_config,
)

from ai_skills.cli.worker import main
from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import IllegalTransitionError
from ai_skills.worker.ops.reconcile import reconcile
from ai_skills.worker.ops.tick import tick
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.run.admission import LaunchPlan, admit
from ai_skills.worker.run.agent_exit import finish
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.report import report
from ai_skills.worker.run.retry import retry_task
from ai_skills.worker.run.workspace import workspace_path
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import transaction
from ai_skills.worker.tasks import get_attempt, get_task, transition


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return raw[raw.rfind(")") + 2] not in "ZX"


def child_of(log: str) -> int:
    match = re.search(r"child pid (\d+)", log)
    assert match, log
    return int(match.group(1))


def kill_supervisor_and_agent(conn: sqlite3.Connection, attempt_id: int) -> None:
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None and attempt.supervisor_pid and attempt.agent_pid
    os.kill(attempt.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(attempt.supervisor_pid, attempt.supervisor_token))
    os.kill(attempt.agent_pid, signal.SIGKILL)  # the agent only: its children survive
    wait_for(lambda: not is_alive(attempt.agent_pid, attempt.agent_token))


def expire_lease(conn: sqlite3.Connection, attempt_id: int) -> None:
    conn.execute("UPDATE attempts SET lease_until = ? WHERE id = ?", (time.time() - 1, attempt_id))


def test_an_agent_killed_by_a_signal_leaves_the_task_stalled_with_its_work(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "hang")
    wait_log(conn, attempt_id, "committed")
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None and attempt.agent_pid
    os.kill(attempt.agent_pid, signal.SIGKILL)  # what the OOM killer does
    wait_for(lambda: "agent_exited" in event_kinds(conn, "t1"), what="the exit to be recorded")
    task = get_task(conn, "t1")
    assert task.state == TaskState.STALLED, task.reason
    assert "SIGKILL" in task.reason and "worker start t1" in task.reason
    write_config(worker_repo, command=agent_command("done"))
    again = start_task(ctx, conn, load_config(ctx.config_path), "t1")
    assert again.admitted
    wait_state(conn, "t1", "in_review")
    assert git(ctx.repo_root, "rev-list", "--count", "main..worker/t1") == "2"


def _admitted(ctx: RepoContext, conn: sqlite3.Connection, task_id: str) -> int:
    config = load_config(ctx.config_path)
    add(conn, task_id)
    plan = LaunchPlan(
        command=shlex.split(str(config.runtime_command)),
        worktree=workspace_path(ctx, config, task_id),
        runs_dir=ctx.worker_dir / "runs" / task_id,
        lease_seconds=config.lease_seconds,
    )
    admission = admit(conn, task_id, plan, max_running=3)
    assert admission.attempt_id is not None
    return admission.attempt_id


@pytest.mark.parametrize(
    ("code", "state", "words"),
    [
        (-9, "stalled", "killed by signal SIGKILL"),
        (137, "stalled", "SIGKILL"),  # a shell wrapper reports its child's signal as 128+N
        (-15, "stalled", "SIGTERM"),
        (3, "failed", "exited with code 3"),
        (0, "stalled", "exited with code 0 without reporting done"),
    ],
)
def test_exit_codes_are_judged_signal_or_failure(
    ctx: RepoContext, conn: sqlite3.Connection, code: int, state: str, words: str
) -> None:
    attempt_id = _admitted(ctx, conn, "t1")
    finish(conn, attempt_id, code, now=time.time())
    task = get_task(conn, "t1")
    assert task.state.value == state and words in task.reason


def test_a_stalled_task_whose_agent_exits_stays_stalled(
    ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = _admitted(ctx, conn, "t1")
    with transaction(conn):
        transition(conn, get_task(conn, "t1"), TaskState.STALLED, action="liveness", reason="x")
    finish(conn, attempt_id, 1, now=time.time())  # stopped by us, or gave up on its own
    assert get_task(conn, "t1").state == TaskState.STALLED


@pytest.mark.slow
def test_an_idle_agent_is_stopped_with_its_group_when_the_task_stalls(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # Without a sandbox: the child's pid is printed as the host sees it (test_sandbox.py has
    # the sandboxed case).
    write_config(worker_repo, max_running=1, command=agent_command("orphan-maker"), sandbox="none")
    config = load_config(ctx.config_path)
    add(conn, "t1")
    attempt_id = start_task(ctx, conn, config, "t1").attempt_id
    assert attempt_id is not None
    child = child_of(stall_once_idle(conn, attempt_id, "committed"))
    wait_state(conn, "t1", "stalled")
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None
    wait_for(lambda: not is_alive(attempt.agent_pid, attempt.agent_token), what="agent stop")
    wait_for(lambda: not running(child), what="the agent's child to be stopped too")
    wait_for(lambda: "agent_exited" in event_kinds(conn, "t1"))
    assert get_task(conn, "t1").state == TaskState.STALLED  # not failed by the TERM


def test_wip_counts_the_live_agent_of_a_task_that_is_no_longer_running(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # An agent that ignores SIGTERM: its supervisor stops it within a heartbeat of the stall
    # verdict, and a busy machine can take longer than that to reach the second start.
    write_config(worker_repo, max_running=1, command=agent_command("stubborn"))
    config = load_config(ctx.config_path)
    add(conn, "a")
    add(conn, "b")
    first = start_task(ctx, conn, config, "a")
    assert first.attempt_id is not None
    wait_log(conn, first.attempt_id, "left uncommitted work")  # it ignores SIGTERM from here
    # The moment between a stall verdict and the end of the agent it stops (here: the
    # cancel grace of 2 s before SIGKILL).
    with transaction(conn):
        transition(conn, get_task(conn, "a"), TaskState.STALLED, action="liveness", reason="x")
    second = start_task(ctx, conn, config, "b")
    assert not second.admitted
    assert "WIP limit 1 reached" in second.reason and "a" in second.reason


@pytest.mark.slow
def test_supervisor_and_agent_killed_the_stall_stops_their_children(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # Children outlive a killed agent only without a sandbox (in one, its pid namespace ends
    # with it: test_sandbox.py).
    attempt_id = start_with(worker_repo, ctx, conn, "orphan-maker", sandbox="none")
    child = child_of(wait_log(conn, attempt_id, "committed"))
    kill_supervisor_and_agent(conn, attempt_id)
    assert running(child)
    expire_lease(conn, attempt_id)
    config = load_config(ctx.config_path)
    assert [v.task_id for v in tick(ctx, conn, config).stalled] == ["t1"]
    assert not running(child)
    task = get_task(conn, "t1")
    assert task.state == TaskState.STALLED and "supervisor and agent are gone" in task.reason


@pytest.mark.slow
def test_reconcile_names_and_fix_stops_children_left_by_an_earlier_attempt(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "orphan-maker", sandbox="none")
    child = child_of(wait_log(conn, attempt_id, "committed"))
    report(conn, task_id="t1", attempt_id=attempt_id, status="done", message="done")
    kill_supervisor_and_agent(conn, attempt_id)
    config = load_config(ctx.config_path)
    assert tick(ctx, conn, config).stalled == []  # in review: liveness has nothing to judge
    (finding,) = reconcile(ctx, conn, config, fix=False)
    assert finding.kind == "orphan_processes" and str(child) in finding.detail
    assert "attempt 1" in finding.detail and finding.fix
    (fixed,) = reconcile(ctx, conn, config, fix=True)
    assert fixed.fixed and not running(child)
    assert reconcile(ctx, conn, config, fix=False) == []
    assert get_task(conn, "t1").state == TaskState.IN_REVIEW


def test_orphans_hold_their_wip_slot_and_the_reason_says_how_to_free_it(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, max_running=1, command=agent_command("orphan-maker"), sandbox="none")
    config = load_config(ctx.config_path)
    add(conn, "a")
    add(conn, "b")
    attempt_id = start_task(ctx, conn, config, "a").attempt_id
    assert attempt_id is not None
    child = child_of(wait_log(conn, attempt_id, "committed"))
    report(conn, task_id="a", attempt_id=attempt_id, status="done", message="done")
    kill_supervisor_and_agent(conn, attempt_id)
    waiting = start_task(ctx, conn, config, "b")
    assert not waiting.admitted and str(child) in waiting.reason
    assert "worker reconcile --fix" in waiting.reason
    reconcile(ctx, conn, config, fix=True)
    assert start_task(ctx, conn, config, "b").admitted


def test_a_failed_task_is_final_for_tick_and_retried_with_the_failure_in_its_prompt(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    start_with(worker_repo, ctx, conn, "crash")
    wait_state(conn, "t1", "failed")
    wait_for(lambda: "agent_exited" in event_kinds(conn, "t1"))
    # The supervisor outlives the exit event by a moment; retry waits for it to be gone.
    wait_for(lambda: processes_gone(conn, "t1"), what="attempt 1's processes to end")
    config = load_config(ctx.config_path)
    with pytest.raises(IllegalTransitionError, match="worker retry t1"):
        start_task(ctx, conn, config, "t1")
    assert tick(ctx, conn, config).started == []
    write_config(worker_repo, command=agent_command("done"))
    config = load_config(ctx.config_path)
    result = retry_task(ctx, conn, config, "t1", message="Check the flags first.")
    assert result.admitted and result.attempt_id is not None
    attempt = get_attempt(conn, result.attempt_id)
    assert attempt is not None and attempt.prompt_file is not None
    prompt = Path(attempt.prompt_file).read_text()
    assert "attempt 1 failed: agent exited with code 3" in prompt
    assert "Check the flags first." in prompt
    wait_state(conn, "t1", "in_review")


def test_retry_through_the_cli_and_what_it_refuses(
    worker_repo: Path,
    ctx: RepoContext,
    conn: sqlite3.Connection,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(worker_repo)
    write_config(worker_repo, command=agent_command("crash"))
    assert main(["add", "t1", "--title", "one"]) == 0
    assert main(["start", "t1"]) == 0
    wait_state(conn, "t1", "failed")
    wait_for(lambda: "agent_exited" in event_kinds(conn, "t1"))
    # The slot frees when the attempt's processes are gone, not at its exit event.
    wait_for(lambda: processes_gone(conn, "t1"))
    capsys.readouterr()
    assert main(["start", "t1"]) == 4
    assert "`worker retry t1`" in capsys.readouterr().err
    assert main(["start", "t1", "--retry"]) == 0
    assert "t1: running (attempt 2" in capsys.readouterr().out
    wait_state(conn, "t1", "failed")
    wait_for(lambda: event_kinds(conn, "t1").count("agent_exited") == 2)
    wait_for(lambda: processes_gone(conn, "t1"))
    assert main(["retry", "t1", "--message", "again", "--json"]) == 0
    wait_state(conn, "t1", "failed")
    wait_for(lambda: event_kinds(conn, "t1").count("agent_exited") == 3)
    assert main(["add", "t2", "--title", "two"]) == 0
    capsys.readouterr()
    assert main(["retry", "t2"]) == 4
    assert "only a failed task is retried" in capsys.readouterr().err
