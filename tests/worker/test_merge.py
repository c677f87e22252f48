"""Merge, conflicts and stats end to end: real git, the scripted agent, the core API."""

from __future__ import annotations

import json
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from review_helpers import add_review_config, approved, to_review
from worker_helpers import git, visible_path, wait_state

from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import MergeBusyError, ReviewRefusedError
from ai_skills.worker.ops.reconcile import reconcile
from ai_skills.worker.ops.stats import compute_stats
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.review import merge_steps as merge_module
from ai_skills.worker.review.conflicts import find_conflicts
from ai_skills.worker.review.gates import gate_task
from ai_skills.worker.review.merge import merge_lock, merge_task
from ai_skills.worker.review.verdict import approve
from ai_skills.worker.tasks import get_task


@pytest.fixture
def rconfig(worker_repo: Path) -> WorkerConfig:
    return add_review_config(worker_repo)


def all_commits(repo: Path) -> set[str]:
    return set(git(repo, "rev-list", "--all").split())


def test_two_tasks_on_different_files_pass_gates_get_approved_and_merge_cleanly(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    repo = ctx.repo_root
    approved(ctx, conn, rconfig, "t1")
    approved(ctx, conn, rconfig, "t2")
    heads = {t: git(repo, "rev-parse", f"worker/{t}") for t in ("t1", "t2")}
    old_main = git(repo, "rev-parse", "main")
    first = merge_task(ctx, conn, rconfig, "t1")
    assert (first.outcome, first.state, first.sent_back) == ("merged", "merged", [])
    assert git(repo, "rev-parse", "main") == first.merged_sha
    assert git(repo, "log", "-1", "--format=%P", "main").split() == [old_main, heads["t1"]]
    second = merge_task(ctx, conn, rconfig, "t2")
    assert second.outcome == "merged"
    # The main checkout followed the branch and is clean: no half-merged state.
    assert (repo / "work-t1.txt").is_file() and (repo / "work-t2.txt").is_file()
    assert git(repo, "status", "--porcelain") == ""
    for task_id, head in heads.items():
        assert git(repo, "merge-base", "--is-ancestor", head, "main") == ""
        task = get_task(conn, task_id)
        assert task.worktree_removed and not Path(task.worktree or "").exists()
        assert git(repo, "branch", "--list", f"worker/{task_id}") == ""
    merge_gates = [
        e
        for e in read_events(conn, task_id="t2")
        if e.kind == "gate" and e.data["purpose"] == "merge"
    ]
    assert {e.data["sha"] for e in merge_gates} == {second.merged_sha}
    stats = {s.task_id: s for s in compute_stats(conn).tasks}
    assert stats["t1"].review_time > 0 and stats["t1"].gate_runs == 4
    assert stats["t1"].state == "merged"


def test_same_lines_are_reported_before_merge_and_the_second_merge_is_sent_back(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    repo = ctx.repo_root
    approved(ctx, conn, rconfig, "t1", "--write", "README.md")
    to_review(ctx, conn, rconfig, "t2", "--write", "README.md")
    (pair,) = find_conflicts(ctx, conn, rconfig)
    assert (pair.first, pair.second, pair.would_conflict) == ("t1", "t2", True)
    assert pair.shared_files == ["README.md"] and pair.conflict_files == ["README.md"]
    assert merge_task(ctx, conn, rconfig, "t1").outcome == "merged"
    gate_task(ctx, conn, rconfig.gates, "t2")
    approve(ctx, conn, rconfig, "t2", human=False)
    before_main = git(repo, "rev-parse", "main")
    result = merge_task(ctx, conn, rconfig, "t2")
    assert (result.outcome, result.state, result.conflicts) == (
        "conflict",
        "changes_requested",
        ["README.md"],
    )
    task = get_task(conn, "t2")
    assert "README.md" in task.reason and git(repo, "rev-parse", "main") == before_main
    assert git(repo, "status", "--porcelain") == ""


def test_after_a_merge_a_now_conflicting_approved_task_is_sent_back(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    approved(ctx, conn, rconfig, "t1", "--write", "README.md")
    approved(ctx, conn, rconfig, "t2", "--write", "README.md")
    result = merge_task(ctx, conn, rconfig, "t1")
    assert [(s.task_id, s.files) for s in result.sent_back] == [("t2", ["README.md"])]
    task = get_task(conn, "t2")
    assert task.state.value == "changes_requested" and "README.md" in task.reason


def test_merging_a_task_that_is_not_approved_is_refused(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    refused = r"is in_review \(work committed\); only an approved task"
    with pytest.raises(ReviewRefusedError, match=refused):
        merge_task(ctx, conn, rconfig, "t1")


def test_a_second_merge_at_the_same_time_is_refused_clearly(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    approved(ctx, conn, rconfig, "t1")
    busy = pytest.raises(MergeBusyError, match=r"another merge \(other-task\) is running")
    with merge_lock(ctx, "other-task", wait=0), busy:
        merge_task(ctx, conn, rconfig, "t1", wait=0.2)
    assert get_task(conn, "t1").state.value == "approved"
    assert merge_task(ctx, conn, rconfig, "t1").outcome == "merged"


def test_local_changes_in_the_integration_checkout_refuse_the_merge(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    approved(ctx, conn, rconfig, "t1")
    (ctx.repo_root / "README.md").write_text("edited by a human\n")
    dirty = r"has local changes \(README.md\); commit or stash"
    with pytest.raises(ReviewRefusedError, match=dirty):
        merge_task(ctx, conn, rconfig, "t1")
    assert get_task(conn, "t1").state.value == "approved"
    assert (ctx.repo_root / "README.md").read_text() == "edited by a human\n"


def test_the_integration_branch_moved_by_a_human_meanwhile_is_merged_again_not_overwritten(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = ctx.repo_root
    approved(ctx, conn, rconfig, "t1")
    real_gates = merge_module._step_gates
    human: list[str] = []

    def gates_then_human_commits(*args: object) -> None:
        real_gates(*args)  # type: ignore[arg-type]
        if not human:
            (repo / "human.txt").write_text("by hand\n")
            git(repo, "add", "human.txt")
            git(repo, "commit", "-q", "-m", "human commit")
            human.append(git(repo, "rev-parse", "HEAD"))

    steps = [(n, gates_then_human_commits if n == "gates" else f) for n, f in merge_module.STEPS]
    monkeypatch.setattr(merge_module, "STEPS", steps)
    result = merge_task(ctx, conn, rconfig, "t1")
    assert result.outcome == "merged" and result.target_sha == human[0]
    assert any("moved meanwhile" in n for n in result.notes)
    assert git(repo, "merge-base", "--is-ancestor", human[0], "main") == ""
    assert (repo / "human.txt").is_file() and (repo / "work-t1.txt").is_file()
    assert git(repo, "status", "--porcelain") == ""


class Crash(BaseException):
    """Stands in for the process dying between two steps."""


@pytest.mark.slow
@pytest.mark.parametrize("crash_after", [name for name, _ in merge_module.STEPS])
def test_a_merge_crashed_after_each_step_resumes_to_the_same_result(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    monkeypatch: pytest.MonkeyPatch,
    crash_after: str,
) -> None:
    repo = ctx.repo_root
    approved(ctx, conn, rconfig, "t1")
    head, old_main = git(repo, "rev-parse", "worker/t1"), git(repo, "rev-parse", "main")
    before = all_commits(repo)
    real = dict(merge_module.STEPS)

    def crashing(*args: object) -> None:
        real[crash_after](*args)  # type: ignore[arg-type]
        raise Crash  # the step acted, its checkpoint was never written

    steps = [(n, crashing if n == crash_after else f) for n, f in merge_module.STEPS]
    monkeypatch.setattr(merge_module, "STEPS", steps)
    with pytest.raises(Crash):
        merge_task(ctx, conn, rconfig, "t1")
    assert get_task(conn, "t1").state.value == "merging"
    partial = conn.execute("SELECT merged_sha FROM merges WHERE task_id = 't1'").fetchone()[0]
    monkeypatch.setattr(merge_module, "STEPS", list(real.items()))
    if crash_after == "gates":
        (finding,) = [f for f in reconcile(ctx, conn, rconfig, fix=True) if f.task_id == "t1"]
        assert finding.kind == "unfinished_merge" and finding.fixed
    else:
        result = merge_task(ctx, conn, rconfig, "t1")
        assert result.outcome == "merged"
        assert partial is None or result.merged_sha == partial
    merged = git(repo, "rev-parse", "main")
    assert get_task(conn, "t1").state.value == "merged"
    assert partial in (None, merged)
    assert git(repo, "log", "-1", "--format=%P", "main").split() == [old_main, head]
    assert before <= all_commits(repo), "a commit was lost"
    assert git(repo, "status", "--porcelain") == "" and (repo / "work-t1.txt").is_file()
    assert git(repo, "worktree", "list").count("\n") == 0  # only the main checkout is left


def test_squash_makes_one_commit_and_keeps_the_original_commits(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    repo = ctx.repo_root
    approved(ctx, conn, rconfig, "t1")
    head, old_main = git(repo, "rev-parse", "worker/t1"), git(repo, "rev-parse", "main")
    result = merge_task(ctx, conn, rconfig, "t1", strategy="squash")
    assert result.outcome == "merged"
    assert git(repo, "log", "-1", "--format=%P", "main") == old_main
    assert git(repo, "rev-parse", "refs/worker/merged/t1") == head


def test_rebase_that_is_not_a_fast_forward_is_refused_with_the_reason(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    repo = ctx.repo_root
    approved(ctx, conn, rconfig, "t1")
    (repo / "other.txt").write_text("x\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "main moves on")
    with pytest.raises(ReviewRefusedError, match="rebase is only possible when the branch"):
        merge_task(ctx, conn, rconfig, "t1", strategy="rebase")
    assert get_task(conn, "t1").state.value == "approved"


def test_failing_gates_on_the_merged_result_leave_the_integration_branch_alone(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # The gate passes on the task branch but fails once main's new file is merged in.
    config = add_review_config(worker_repo, extra='only = "test ! -f poison.txt"\n')
    approved(ctx, conn, config, "t1")
    (worker_repo / "poison.txt").write_text("x\n")
    git(worker_repo, "add", "poison.txt")
    git(worker_repo, "commit", "-q", "-m", "poison")
    main_before = git(worker_repo, "rev-parse", "main")
    result = merge_task(ctx, conn, config, "t1")
    assert (result.outcome, result.state) == ("gates_failed", "changes_requested")
    assert git(worker_repo, "rev-parse", "main") == main_before
    assert "only (exit 1)" in get_task(conn, "t1").reason


@pytest.mark.slow
def test_merge_processes_killed_at_random_moments_resume_to_a_merged_task(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = add_review_config(worker_repo, extra='slow = "sleep 0.3"\n')
    rng = random.Random(6)
    worker = [sys.executable, "-m", "ai_skills.cli.worker"]
    seen: set[str] = set()
    for n in range(5):
        task_id = f"k{n}"
        approved(ctx, conn, config, task_id)
        head, old_main = (
            git(worker_repo, "rev-parse", f"worker/{task_id}"),
            git(worker_repo, "rev-parse", "main"),
        )
        before = all_commits(worker_repo)
        proc = subprocess.Popen([*worker, "merge", task_id], cwd=worker_repo)
        # The kill lands at a random moment after the merge began (its gates alone take 0.3 s):
        # on a busy machine the process can take seconds just to get there.
        while proc.poll() is None and get_task(conn, task_id).state.value == "approved":
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_in = get_task(conn, task_id).state.value
        seen.add(killed_in)
        resumed = subprocess.run(
            [*worker, "merge", task_id, "--wait", "10", "--json"],
            cwd=worker_repo,
            capture_output=True,
            text=True,
        )
        # A merge that finished before the kill is refused (exit 4); any other one resumes.
        assert resumed.returncode == (4 if killed_in == "merged" else 0), resumed.stderr
        assert get_task(conn, task_id).state.value == "merged"
        assert git(worker_repo, "log", "-1", "--format=%P", "main").split() == [old_main, head]
        assert before <= all_commits(worker_repo), "a commit was lost"
        assert git(worker_repo, "status", "--porcelain") == ""
    assert "merging" in seen, f"no kill landed inside a merge (saw {seen})"


def test_uncommitted_changes_in_the_task_worktree_are_kept_after_the_merge(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    approved(ctx, conn, rconfig, "t1")
    worktree = Path(get_task(conn, "t1").worktree or "")
    (worktree / "scratch.txt").write_text("not committed\n")
    result = merge_task(ctx, conn, rconfig, "t1")
    assert result.outcome == "merged" and result.state == "merged"
    assert (worktree / "scratch.txt").read_text() == "not committed\n"
    assert any("uncommitted changes" in n for n in result.notes)


def test_an_approved_commit_that_no_longer_exists_on_the_branch_voids_the_merge(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    approved(ctx, conn, rconfig, "t1")
    worktree = Path(get_task(conn, "t1").worktree or "")
    git(worktree, "reset", "-q", "--hard", "HEAD~1")  # the approved commit is gone from it
    with pytest.raises(ReviewRefusedError, match="is in_review .*approval of .* voided"):
        merge_task(ctx, conn, rconfig, "t1")
    assert git(ctx.repo_root, "log", "-1", "--format=%s", "main") == "worker gates"


@pytest.mark.slow
def test_two_merge_processes_at_once_the_second_is_refused_and_names_the_first(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # The first merge holds the lock in a gate that waits for `release` (however long the
    # second process takes to start on a busy machine); the review's gates find it there.
    release = visible_path("release")
    wait = f"while [ ! -e {shlex.quote(str(release))} ]; do sleep 0.05; done"
    config = add_review_config(worker_repo, extra=f"slow = {json.dumps(wait)}\n", timeout=120)
    release.touch()
    approved(ctx, conn, config, "t1")
    approved(ctx, conn, config, "t2")
    release.unlink()
    worker = [sys.executable, "-m", "ai_skills.cli.worker"]
    first = subprocess.Popen([*worker, "merge", "t1"], cwd=worker_repo)
    wait_state(conn, "t1", "merging")
    second = subprocess.run(
        [*worker, "merge", "t2"], cwd=worker_repo, capture_output=True, text=True
    )
    release.touch()
    assert second.returncode == 4
    assert "another merge (t1) is running" in second.stderr
    assert first.wait(timeout=60) == 0
    assert get_task(conn, "t2").state.value == "approved"
    waited = subprocess.run([*worker, "merge", "t2", "--wait", "30"], cwd=worker_repo)
    assert waited.returncode == 0 and get_task(conn, "t2").state.value == "merged"


def test_untracked_files_in_the_main_checkout_block_only_when_the_merge_adds_them(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    repo = ctx.repo_root
    approved(ctx, conn, rconfig, "t1")
    approved(ctx, conn, rconfig, "t2")
    (repo / "notes.txt").write_text("my notes\n")
    assert merge_task(ctx, conn, rconfig, "t1").outcome == "merged"
    (repo / "work-t2.txt").write_text("mine, not the agent's\n")
    main_before = git(repo, "rev-parse", "main")
    result = merge_task(ctx, conn, rconfig, "t2")
    assert (result.outcome, result.state) == ("refused", "approved")
    assert "work-t2.txt (untracked)" in result.notes[-1]
    assert git(repo, "rev-parse", "main") == main_before
    assert (repo / "work-t2.txt").read_text() == "mine, not the agent's\n"
    assert (repo / "notes.txt").read_text() == "my notes\n"
