"""Gates, review, human checkpoints: real git, real scripted agents, the core API."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from review_helpers import add_review_config, approved, to_review
from worker_helpers import add, git, wait_state

from ai_skills.worker.config import PolicyConfig, WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ReviewRefusedError
from ai_skills.worker.ops.tick import tick
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.review.gates import gate_task, latest_results
from ai_skills.worker.review.policy import path_matches, policy_reasons
from ai_skills.worker.review.records import get_review
from ai_skills.worker.review.verdict import approve, request_changes, show_review
from ai_skills.worker.store import transaction
from ai_skills.worker.tasks import get_attempt, get_task


@pytest.fixture
def rconfig(worker_repo: Path) -> WorkerConfig:
    return add_review_config(worker_repo)


def test_gates_run_at_the_head_sha_and_bind_results_to_it(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    head = git(ctx.repo_root, "rev-parse", "worker/t1")
    result = gate_task(ctx, conn, rconfig.gates, "t1")
    assert result.passed and result.sha == head
    assert [(r.gate, r.exit_code, r.sha) for r in result.results] == [
        ("test", 0, head),
        ("lint", 0, head),
    ]
    assert all(Path(r.log_file).is_file() for r in result.results)
    assert [r.gate for r in latest_results(conn, "t1", head)] == ["test", "lint"]
    assert latest_results(conn, "t1", "0" * 40) == []
    gate_events = [e for e in read_events(conn, task_id="t1") if e.kind == "gate"]
    assert [e.data["sha"] for e in gate_events] == [head, head]


def test_a_hanging_gate_is_stopped_by_the_timeout_and_recorded_failed(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = add_review_config(worker_repo, timeout=0.5, extra='hang = "sleep 300; true"\n')
    to_review(ctx, conn, config, "t1")
    started = time.monotonic()
    result = gate_task(ctx, conn, config.gates, "t1")
    assert time.monotonic() - started < 120  # stopped, not waited out (a hang guard)
    hang = result.results[-1]
    assert (hang.gate, hang.timed_out, hang.passed) == ("hang", True, False)
    assert "stopped after 0.5s (timeout)" in Path(hang.log_file).read_text()
    assert not result.passed and "hang (timeout)" in result.problem
    with pytest.raises(ReviewRefusedError, match=r"gates failed on .*hang \(timeout\)"):
        approve(ctx, conn, config, "t1", human=False)
    view = approve(ctx, conn, config, "t1", human=False, no_gates_reason="flaky hang gate")
    assert view.state == "approved" and view.review.gates_waived == "flaky hang gate"


def test_approval_needs_gates_on_that_sha_and_binds_to_it(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    with pytest.raises(ReviewRefusedError, match="gates never ran on"):
        approve(ctx, conn, rconfig, "t1", human=False)
    gate_task(ctx, conn, rconfig.gates, "t1")
    with pytest.raises(ReviewRefusedError, match="does not exist"):
        approve(ctx, conn, rconfig, "t1", human=False, sha="1234567" * 5 + "12345")
    with pytest.raises(ReviewRefusedError, match="is not the head of worker/t1"):
        approve(ctx, conn, rconfig, "t1", human=False, sha="main")
    head = git(ctx.repo_root, "rev-parse", "worker/t1")
    view = approve(ctx, conn, rconfig, "t1", human=False, sha=head[:10])
    assert view.state == "approved" and get_review(conn, "t1").approved_sha == head


def test_a_commit_after_approval_voids_it_on_the_next_tick(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    approved(ctx, conn, rconfig, "t1")
    old = get_review(conn, "t1").approved_sha
    worktree = Path(get_task(conn, "t1").worktree or "")
    (worktree / "late.txt").write_text("late\n")
    git(worktree, "add", "late.txt")
    git(worktree, "commit", "-q", "-m", "late change")
    report = tick(ctx, conn, rconfig)
    assert report.reviewed == [
        {"task_id": "t1", "state": "in_review", "reason": get_task(conn, "t1").reason}
    ]
    task = get_task(conn, "t1")
    assert task.state.value == "in_review" and f"approval of {old[:12]} voided" in task.reason
    voided = [
        e for e in read_events(conn, task_id="t1") if e.data.get("action") == "approval voided"
    ]
    assert voided and voided[0].data["approved_sha"] == old
    assert get_review(conn, "t1").approved_sha is None


def test_a_task_touching_auth_stops_in_needs_human(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "login", "--write", "src/auth/login.py")
    gate_task(ctx, conn, rconfig.gates, "login")
    with pytest.raises(ReviewRefusedError, match="touches sensitive paths: src/auth/login.py"):
        approve(ctx, conn, rconfig, "login", human=False)
    task = get_task(conn, "login")
    assert task.state.value == "needs_human"
    assert task.reason == "needs a human: touches sensitive paths: src/auth/login.py"
    assert show_review(ctx, conn, rconfig, "login").policy == [
        "touches sensitive paths: src/auth/login.py"
    ]
    view = approve(ctx, conn, rconfig, "login", human=True)
    assert view.state == "approved" and view.review.approved_by == "human"


def test_a_blocked_agent_needs_a_human(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "t1", "--mode", "blocked", state="needs_human")
    assert get_task(conn, "t1").reason == "no access to the API key"


def test_request_changes_restarts_the_agent_with_the_feedback_and_counts_cycles(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    result = request_changes(
        ctx,
        conn,
        rconfig,
        "t1",
        reason="Name the file after the ticket.",
        restart=True,
        human=False,
    )
    assert result.restarted and result.change_requests == 1
    wait_state(conn, "t1", "in_review")
    attempt = get_attempt(conn, result.attempt_id)
    assert attempt is not None and attempt.number == 2
    prompt = Path(attempt.prompt_file or "").read_text()
    assert "## From your supervisor" in prompt
    assert "Name the file after the ticket." in prompt
    second = request_changes(ctx, conn, rconfig, "t1", reason="again", restart=False, human=False)
    assert (second.state, second.restarted) == ("changes_requested", False)


def test_more_change_requests_than_the_limit_need_a_human(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    for n in (1, 2):
        request_changes(ctx, conn, rconfig, "t1", reason=f"fix {n}", restart=False, human=False)
        conn.execute("UPDATE tasks SET state = 'in_review' WHERE id = 't1'")  # as if re-done
    third = request_changes(ctx, conn, rconfig, "t1", reason="fix 3", restart=False, human=False)
    assert third.state == "needs_human" and third.change_requests == 3
    assert get_task(conn, "t1").reason == "needs a human: 3 change requests (limit 2)"
    by_human = request_changes(
        ctx, conn, rconfig, "t1", reason="one more", restart=False, human=True
    )
    assert by_human.state == "changes_requested"


@pytest.mark.parametrize(
    ("path", "glob", "hit"),
    [
        ("auth/x.py", "**/auth/**", True),
        ("src/auth/x.py", "**/auth/**", True),
        ("src/author.py", "**/auth/**", False),
        (".github/workflows/ci.yml", ".github/**", True),
        (".gitlab-ci.yml", ".gitlab-ci.yml", True),
        ("db/migrations/0001.sql", "**/migrations/**", True),
        ("docs/security.md", "**/security/**", False),
    ],
)
def test_sensitive_path_globs(path: str, glob: str, hit: bool) -> None:
    assert path_matches(path, glob) is hit


def test_policy_size_and_cycle_rules() -> None:
    policy = PolicyConfig(max_diff_lines=10, max_diff_files=2, max_change_requests=1)
    assert policy_reasons(policy, files=["a", "b"], lines=10, change_requests=1) == []
    assert policy_reasons(policy, files=["a", "b", "c"], lines=11, change_requests=2) == [
        "diff of 11 lines (limit 10)",
        "diff of 3 files (limit 2)",
        "2 change requests (limit 1)",
    ]


def test_review_of_a_task_without_a_branch_says_so(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    add(conn, "t1")
    view = show_review(ctx, conn, rconfig, "t1")
    assert (view.state, view.head_sha, view.notes) == (
        "queued",
        None,
        ["branch worker/t1 does not exist"],
    )
    with pytest.raises(ReviewRefusedError, match="is queued; only a task in review"):
        approve(ctx, conn, rconfig, "t1", human=False)
    with pytest.raises(ReviewRefusedError, match="is queued and has no worktree"):
        gate_task(ctx, conn, rconfig.gates, "t1")


def test_gates_that_saw_the_worktree_change_do_not_pass(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # The first gate leaves a report (untracked: fine); the second edits a tracked file.
    config = add_review_config(
        worker_repo, extra='report = "echo x > report.txt"\nedit = "echo y >> README.md"\n'
    )
    to_review(ctx, conn, config, "t1")
    result = gate_task(ctx, conn, config.gates, "t1")
    assert all(r.passed for r in result.results)
    assert not result.passed and "changed while the gates ran" in result.problem


def test_files_a_gate_writes_untracked_do_not_spoil_its_result(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = add_review_config(worker_repo, extra='report = "echo x > report.txt"\n')
    to_review(ctx, conn, config, "t1")
    assert gate_task(ctx, conn, config.gates, "t1").passed


def test_the_review_pass_leaves_alone_an_approval_of_a_task_another_host_ran(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    from ai_skills.worker.review.findings import review_pass

    approved(ctx, conn, rconfig, "t1")
    # As a clone that never ran it sees it: the task is another host's, its workspace is on
    # that machine, and this clone has no worker/t1 (nothing fetched it here).
    with transaction(conn):
        conn.execute("UPDATE tasks SET host = 'build-box', worktree_removed = 1 WHERE id = 't1'")
    git(ctx.repo_root, "branch", "-D", "worker/t1")
    assert review_pass(ctx, conn, rconfig) == []
    assert get_task(conn, "t1").state.value == "approved"
    # In its own host's clone (here: no host name, a task of no host) the pass judges it.
    with transaction(conn):
        conn.execute("UPDATE tasks SET host = NULL WHERE id = 't1'")
    assert [t.id for t in review_pass(ctx, conn, rconfig)] == ["t1"]
    assert "worker/t1 is deleted" in get_task(conn, "t1").reason
