"""Faults: cancel, killed supervisors, a "reboot", deleted worktrees, races. No commit is lost."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    add_and_start,
    agent_command,
    git,
    processes_gone,
    start_with,
    wait_agent_running,
    wait_for,
    wait_log,
    wait_state,
    write_config,
)

from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.ops.reconcile import reconcile
from ai_skills.worker.ops.tick import tick
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.run.cancel import CancelOptions, cancel_task
from ai_skills.worker.run.clones import workspace_record
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.worktrees import registered_worktrees
from ai_skills.worker.tasks import get_attempt, get_task


def test_cancel_with_cleanup_saves_work_removes_worktree_keeps_branch(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "dirty-hang")
    wait_log(conn, attempt_id, "left uncommitted work")
    worktree = Path(get_task(conn, "t1").worktree or "")
    record = workspace_record(ctx.common_dir, "t1")
    assert record.read_text() == str(worktree.resolve())
    options = CancelOptions(reason="plans changed", cleanup=True, grace_seconds=5)
    result = cancel_task(ctx, conn, "t1", options)
    assert result.state == "cancelled" and result.agent == "terminated"
    assert result.saved_commit is not None and result.worktree_removed and result.branch_kept
    assert not worktree.exists() and worktree.resolve() not in registered_worktrees(ctx.repo_root)
    assert not record.exists()  # a folder put there later is not the task's
    assert git(ctx.repo_root, "show", "worker/t1:wip-t1.txt") == "half-done work"
    assert processes_gone(conn, "t1")
    task = get_task(conn, "t1")
    assert task.reason == "plans changed" and task.worktree_removed
    again = cancel_task(ctx, conn, "t1", options)
    assert again.already_cancelled and again.saved_commit is None and again.agent == "gone"
    assert git(ctx.repo_root, "show", "worker/t1:wip-t1.txt") == "half-done work"
    assert [e.kind for e in read_events(conn, task_id="t1")].count("transition") == 2


def test_cancel_without_cleanup_keeps_the_worktree_and_a_later_cleanup_removes_it(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    start_with(worker_repo, ctx, conn, "hang")
    first = cancel_task(ctx, conn, "t1", CancelOptions(reason="stop"))
    assert first.state == "cancelled" and not first.worktree_removed
    assert Path(first.worktree or "").is_dir()
    second = cancel_task(ctx, conn, "t1", CancelOptions(reason="stop", cleanup=True))
    assert second.worktree_removed and not Path(first.worktree or "").exists()


def test_cancel_removes_the_index_lock_of_an_agent_stopped_in_the_middle_of_a_commit(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # The agent was killed between `git add` and the end of `git commit`: its lock stays.
    attempt_id = start_with(worker_repo, ctx, conn, "dirty-hang")
    wait_log(conn, attempt_id, "left uncommitted work")
    workspace = Path(get_task(conn, "t1").worktree or "")
    (workspace / ".git" / "index.lock").write_text("")
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="stop", grace_seconds=0.5))
    assert result.saved_commit is not None
    assert git(ctx.repo_root, "show", "worker/t1:wip-t1.txt") == "half-done work"
    assert "stale_lock_removed" in [e.kind for e in read_events(conn, task_id="t1")]


def test_cancel_of_a_queued_task_and_of_an_unmerged_empty_branch(
    ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    add(conn, "t1")
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="not needed", cleanup=True))
    assert result.state == "cancelled" and result.agent == "none" and not result.branch_kept


@pytest.mark.slow
def test_cancel_kills_an_agent_that_ignores_term(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "stubborn")
    wait_log(conn, attempt_id, "left uncommitted work")
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="stuck", grace_seconds=0.5))
    assert result.agent == "killed" and result.saved_commit is not None
    assert processes_gone(conn, "t1")
    assert git(ctx.repo_root, "show", "worker/t1:wip-t1.txt") == "half-done work"


def test_cancel_force_skips_the_grace_period(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "stubborn")
    wait_log(conn, attempt_id, "left uncommitted work")
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="x", force=True, grace_seconds=600))
    assert result.agent == "killed" and processes_gone(conn, "t1")


@pytest.mark.slow
def test_supervisor_killed_with_sigkill_is_named_by_reconcile(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # Without a sandbox the agent outlives its supervisor (a sandboxed one dies with it:
    # test_sandbox.py).
    attempt_id = start_with(worker_repo, ctx, conn, "hang", sandbox="none")
    wait_agent_running(conn, attempt_id)
    config = load_config(ctx.config_path)
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None and attempt.supervisor_pid and attempt.agent_pid
    os.kill(attempt.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(attempt.supervisor_pid, attempt.supervisor_token))
    findings = reconcile(ctx, conn, config, fix=True)
    assert [(f.kind, f.fixed) for f in findings] == [("supervisor_dead", False)]
    # An agent still running is not "provably gone": the task stays running.
    assert tick(ctx, conn, config).stalled == [] and get_task(conn, "t1").state.value == "running"
    os.killpg(attempt.agent_pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(attempt.agent_pid, attempt.agent_token))
    wait_for(
        lambda: time.time() > (get_attempt(conn, attempt_id) or attempt).lease_until,  # type: ignore[operator]
        what="the lease to expire",
    )
    findings = reconcile(ctx, conn, config, fix=False)
    assert [f.kind for f in findings] == ["process_dead"]
    fixed = reconcile(ctx, conn, config, fix=True)
    assert fixed[0].fixed and get_task(conn, "t1").state.value == "stalled"
    assert reconcile(ctx, conn, config, fix=False) == []


@pytest.mark.slow
def test_reboot_all_processes_gone_then_tick_stalls_and_start_resumes(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "hang")
    wait_log(conn, attempt_id, "committed")
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None and attempt.agent_pid and attempt.supervisor_pid
    for pid in (attempt.supervisor_pid, attempt.agent_pid):
        os.kill(pid, signal.SIGKILL)
    # After a reboot pids may be reused by strangers: tokens from the old boot never match.
    conn.execute(
        "UPDATE attempts SET supervisor_token = 'old-boot:1', agent_token = "
        "'old-boot:2', supervisor_pid = ?, agent_pid = ? WHERE id = ?",
        (os.getpid(), os.getpid(), attempt_id),
    )
    config = load_config(ctx.config_path)
    wait_for(lambda: bool(tick(ctx, conn, config).stalled), what="tick to mark stalled")
    task = get_task(conn, "t1")
    assert task.state.value == "stalled" and "supervisor and agent are gone" in task.reason
    assert is_alive(os.getpid(), None) is False  # a stranger's pid without our token is no proof
    write_config(worker_repo, command=agent_command("done"))
    again = start_task(ctx, conn, load_config(ctx.config_path), "t1")
    assert again.admitted and again.attempt_id != attempt_id
    wait_state(conn, "t1", "in_review")
    assert git(ctx.repo_root, "rev-list", "--count", "main..worker/t1") == "2"


def test_worktree_deleted_by_hand_is_found_and_pruned(
    ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = load_config(ctx.config_path)
    add_and_start(ctx, conn)
    wait_state(conn, "t1", "in_review")
    wait_for(lambda: processes_gone(conn, "t1"))
    worktree = Path(get_task(conn, "t1").worktree or "")
    shutil.rmtree(worktree)
    findings = reconcile(ctx, conn, config, fix=False)
    assert [f.kind for f in findings] == ["worktree_missing"]
    assert "deleted outside worker" in findings[0].detail
    assert reconcile(ctx, conn, config, fix=True)[0].fixed
    assert worktree.resolve() not in registered_worktrees(ctx.repo_root)
    assert reconcile(ctx, conn, config, fix=False) == []
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="done with it", cleanup=True))
    assert result.worktree_removed and result.branch_kept
    assert git(ctx.repo_root, "log", "-1", "--format=%s", "worker/t1") == "agent work for t1"


def test_branch_reset_outside_worker_is_named_by_reconcile(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "hang")
    wait_log(conn, attempt_id, "committed")
    config = load_config(ctx.config_path)
    wait_for(
        lambda: (
            (get_attempt(conn, attempt_id) or None).head_sha  # type: ignore[union-attr]
            == git(ctx.repo_root, "rev-parse", "worker/t1")
        ),
        what="the HEAD move to be seen",
    )
    cancel_task(ctx, conn, "t1", CancelOptions(reason="x", force=True))
    git(ctx.repo_root, "branch", "-f", "worker/t1", "main")
    findings = reconcile(ctx, conn, config, fix=True)
    assert [(f.kind, f.fixed) for f in findings] == [("branch_moved", False)]
    assert "moved outside worker" in findings[0].detail


def test_two_starts_racing_for_the_last_slot_admit_exactly_one(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    write_config(worker_repo, max_running=1, command=agent_command("hang"))
    add(conn, "a")
    add(conn, "b")
    go = tmp_path / "go"
    script = (
        "import sys, time, pathlib\n"
        "from ai_skills.worker.run.admission import LaunchPlan, admit\n"
        "from ai_skills.worker.context import find_repo\n"
        "from ai_skills.worker.store import open_store\n"
        "repo, task, go = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])\n"
        "conn = open_store(find_repo(pathlib.Path(repo)))\n"
        "print('ready', flush=True)\n"
        "while not go.exists(): time.sleep(0.001)\n"
        "plan = LaunchPlan(['x'], pathlib.Path('/tmp/none') / task, pathlib.Path('/tmp/r'), 30)\n"
        "print(admit(conn, task, plan, max_running=1).admitted)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(ctx.repo_root), t, str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for t in ("a", "b")
    ]
    # Both connect first and say so: then they race for the slot at once.
    assert [p.stdout.readline() if p.stdout else "" for p in procs] == ["ready\n"] * 2
    go.touch()
    outputs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outputs == ["False", "True"]
    states = sorted(get_task(conn, t).state.value for t in ("a", "b"))
    assert states == ["queued", "running"]
    loser = "a" if get_task(conn, "a").state.value == "queued" else "b"
    assert get_task(conn, loser).waiting_reason.startswith("WIP limit 1 reached")


def test_worktree_deleted_while_the_agent_runs(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "hang")
    wait_log(conn, attempt_id, "committed")
    wait_for(lambda: git(ctx.repo_root, "log", "-1", "--format=%s", "worker/t1")
             == "agent work for t1", what="the commit to be fetched from the clone")
    config = load_config(ctx.config_path)
    worktree = Path(get_task(conn, "t1").worktree or "")
    shutil.rmtree(worktree)
    (finding,) = reconcile(ctx, conn, config, fix=True)
    assert finding.kind == "worktree_missing" and finding.fixed
    # The agent still runs (in a deleted folder): not provably gone, so not stalled yet.
    assert get_task(conn, "t1").state.value == "running"
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="lost", cleanup=True, force=True))
    assert result.state == "cancelled" and result.agent == "killed"
    assert result.branch_kept
    assert git(ctx.repo_root, "log", "-1", "--format=%s", "worker/t1") == "agent work for t1"


def test_cancel_says_once_why_the_branch_is_kept() -> None:
    from ai_skills.worker.ops.status_text import cancel_lines
    from ai_skills.worker.run.cancel import CancelResult

    result = CancelResult(
        task_id="docs", state="cancelled", already_cancelled=False, agent="gone",
        saved_commit=None, worktree="/w/docs", worktree_removed=True, branch="worker/docs",
        branch_kept=True, notes=["branch worker/docs kept: it has commits not merged into main"],
    )
    assert [line for line in cancel_lines(result) if "branch" in line] == [
        "  branch worker/docs kept: it has commits not merged into main"
    ]
