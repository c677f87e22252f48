"""Containment: changes outside the task's worktree are findings and stop the task."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    add_and_start,
    agent_command,
    git,
    start_with,
    wait_for,
    wait_state,
    write_config,
)

from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.ops.status import task_statuses
from ai_skills.worker.ops.status_text import status_lines
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.run.containment import checkout_state, compare, store_problems
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.tasks import get_task


def _snapshot(main: Path, other: Path | None = None) -> dict[str, object]:
    checkouts = {str(main): checkout_state(main)}
    if other is not None:
        checkouts[str(other)] = checkout_state(other)
    return {"checkouts": checkouts, "refs": {}, "store": [], "main": str(main)}


def test_an_edit_to_an_already_dirty_file_is_still_seen(git_repo: Path) -> None:
    (git_repo / "README.md").write_text("edited by the person\n")
    before = _snapshot(git_repo)
    (git_repo / "README.md").write_text("edited again, by the agent\n")
    (git_repo / "new.txt").write_text("x")
    after = _snapshot(git_repo)
    (breach,) = compare(before, after, skip_paths=set(), skip_refs=set(), merged=False)
    assert (breach.kind, breach.where) == ("main_checkout", str(git_repo))
    assert breach.detail == "2 file(s) changed: README.md, new.txt"


def test_worktrees_worker_itself_touched_and_merges_are_not_findings(git_repo: Path) -> None:
    other = git_repo.parent / "other"
    git(git_repo, "worktree", "add", "-q", "-b", "other", str(other))
    before = _snapshot(git_repo, other)
    before["refs"] = {"refs/heads/main": "a" * 40, "refs/heads/other": "b" * 40}
    (other / "x.txt").write_text("its own agent wrote this")
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "merge stand-in")
    after = _snapshot(git_repo, other)
    after["refs"] = {"refs/heads/main": "c" * 40, "refs/heads/other": "b" * 40}
    assert compare(before, after, skip_paths={str(other)}, skip_refs=set(), merged=True) == []
    found = compare(before, after, skip_paths=set(), skip_refs=set(), merged=False)
    assert sorted(b.kind for b in found) == ["main_checkout", "ref", "worktree"]


def test_a_state_changed_behind_workers_back_is_a_store_problem(
    conn: sqlite3.Connection,
) -> None:
    add(conn, "t1")
    add(conn, "t2")
    assert store_problems(conn) == []
    conn.execute("UPDATE tasks SET state = 'approved' WHERE id = 't1'")
    conn.execute("DELETE FROM events WHERE task_id = 't2'")
    assert store_problems(conn) == [
        "task 't1' is approved but the event log last moved it to queued (changed without worker)",
        "1 event(s) were deleted from the log",
    ]


@pytest.mark.slow
def test_a_worker_that_edits_the_main_checkout_ends_in_needs_human(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # Without a sandbox the write lands: found by comparing snapshots (test_sandbox.py has the
    # sandboxed case, where it is blocked).
    start_with(worker_repo, ctx, conn, "escape", "--main", str(worker_repo), sandbox="none")
    wait_state(conn, "t1", "needs_human")
    task = get_task(conn, "t1")
    assert task.reason == (
        f"changed outside its worktree: main_checkout {ctx.repo_root}: "
        "1 file(s) changed: escaped.txt"
    )
    findings = [e for e in read_events(conn, task_id="t1") if e.kind == "containment"]
    assert [(e.data["kind"], e.data["detail"]) for e in findings] == [
        ("main_checkout", "1 file(s) changed: escaped.txt")
    ]
    (row,) = task_statuses(ctx, conn, "t1")
    assert row.state == "needs_human" and "escaped.txt" in row.reason
    assert any("escaped.txt" in line for line in status_lines([row], detailed=False))
    assert row.attempts[0]["outcome"] == "containment"


@pytest.mark.slow
def test_a_worker_that_writes_the_store_directly_ends_in_needs_human(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    add(conn, "other")
    start_with(
        worker_repo, ctx, conn, "store-write", "--victim", "other", "--main", str(worker_repo),
        sandbox="none",
    )
    wait_state(conn, "t1", "needs_human")
    assert "store worker.db: task 'other' is cancelled but the event log" in (
        get_task(conn, "t1").reason
    )


@pytest.mark.slow
def test_a_well_behaved_worker_next_to_another_has_no_findings(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # Two agents at once, each committing in its own worktree: neither is the other's breach.
    config = load_config(ctx.config_path)
    for task_id in ("t1", "t2"):
        add(conn, task_id)
        start_task(ctx, conn, config, task_id)
    for task_id in ("t1", "t2"):
        wait_state(conn, task_id, "in_review")
        wait_for(lambda t=task_id: "agent_exited" in [e.kind for e in read_events(conn, task_id=t)])
    assert [e for e in read_events(conn) if e.kind == "containment"] == []


@pytest.mark.slow
def test_a_worker_that_writes_into_another_tasks_worktree_ends_in_needs_human(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, sandbox="none")
    add(conn, "t0")
    start_task(ctx, conn, load_config(ctx.config_path), "t0")
    wait_state(conn, "t0", "in_review")
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="t0")])
    other = Path(get_task(conn, "t0").worktree or "")
    intruder = str(other / "intruder.txt")
    start_with(
        worker_repo, ctx, conn, "done", "--write", "mine.txt", "--write", intruder, sandbox="none"
    )
    wait_state(conn, "t1", "needs_human")
    assert get_task(conn, "t1").reason == (
        f"changed outside its worktree: worktree {other.resolve()}: 1 file(s) changed: intruder.txt"
    )
    assert get_task(conn, "t0").state.value == "in_review"


@pytest.mark.slow
def test_containment_report_mode_records_findings_but_lets_the_task_go_on(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, command=agent_command("escape", "--main", str(worker_repo)))
    toml = worker_repo / ".worker.toml"
    toml.write_text(toml.read_text() + 'containment = "report"\n')
    git(worker_repo, "commit", "-qam", "report only")
    add_and_start(ctx, conn)
    wait_for(lambda: "containment" in [e.kind for e in read_events(conn, task_id="t1")])
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="t1")])
    assert get_task(conn, "t1").state.value == "in_review"
