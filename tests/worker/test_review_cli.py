"""CLI wiring of gate, review, merge, conflicts and stats: exit codes, messages, JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from review_helpers import add_review_config, to_review
from worker_helpers import git

from ai_skills.cli.worker import main
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext


@pytest.fixture
def rconfig(worker_repo: Path, monkeypatch: pytest.MonkeyPatch) -> WorkerConfig:
    monkeypatch.chdir(worker_repo)
    return add_review_config(worker_repo, extra='fails = "exit 3"\n')


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_gate_review_approve_merge_stats_through_the_cli(
    worker_repo: Path,
    ctx: RepoContext,
    conn: sqlite3.Connection,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(worker_repo)
    config = add_review_config(worker_repo)
    to_review(ctx, conn, config, "t1")
    code, out, _ = run(capsys, "gate", "t1")
    assert code == 0 and "t1: gates passed on" in out and "test" in out
    code, out, _ = run(capsys, "review", "t1")
    assert code == 0
    for part in ("t1: in_review", "commits:", "agent work for t1", "work-t1.txt", "findings:"):
        assert part in out
    code, out, _ = run(capsys, "review", "t1", "--approve", "--json")
    assert code == 0 and json.loads(out)["state"] == "approved"
    code, out, _ = run(capsys, "status", "t1", "--json")
    assert json.loads(out)["state"] == "approved"
    code, out, _ = run(capsys, "merge", "t1", "--json")
    merged = json.loads(out)
    assert code == 0 and merged["outcome"] == "merged" and merged["state"] == "merged"
    code, out, _ = run(capsys, "stats", "--json")
    (row,) = json.loads(out)["tasks"]
    assert code == 0 and row["review_time"] > 0 and row["gate_runs"] == 4
    code, out, _ = run(capsys, "stats")
    assert code == 0 and "review_time  mean" in out and "gate failure rate 0%" in out
    code, out, _ = run(capsys, "conflicts")
    assert code == 0 and out.strip() == "no overlapping tasks"


def test_exit_codes_of_failing_gates_refusals_and_bad_input(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    code, out, _ = run(capsys, "gate", "t1")
    assert code == 8 and "gates failed on" in out and "fails (exit 3)" in out
    code, _, err = run(capsys, "review", "t1", "--approve")
    assert code == 4 and "fails (exit 3); run `worker gate t1`" in err
    code, _, err = run(capsys, "review", "t1", "--approve", "--no-gates")
    assert code == 2 and "--no-gates needs --reason" in err
    code, _, err = run(capsys, "review", "t1", "--request-changes")
    assert code == 2 and "--request-changes --reason TEXT" in err
    code, _, err = run(capsys, "review", "t1", "--human")
    assert code == 2 and "--human and --reason go with --approve or --request-changes" in err
    code, _, err = run(capsys, "merge", "t1")
    assert code == 4 and "only an approved task can be merged" in err
    code, _, err = run(capsys, "merge", "nope")
    assert code == 3 and "unknown task 'nope'" in err
    code, out, _ = run(
        capsys, "review", "t1", "--request-changes", "--reason", "fix it", "--no-restart", "--json"
    )
    assert code == 0 and json.loads(out)["state"] == "changes_requested"


def test_conflicts_exit_7_when_two_tasks_would_conflict(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    to_review(ctx, conn, rconfig, "t1", "--write", "README.md")
    to_review(ctx, conn, rconfig, "t2", "--write", "README.md")
    code, out, _ = run(capsys, "conflicts", "--json")
    assert code == 7
    assert json.loads(out)[0]["conflict_files"] == ["README.md"]
    code, out, _ = run(capsys, "conflicts")
    assert "t1 <-> t2: WOULD CONFLICT" in out and "conflicting files: README.md" in out


def test_status_shows_a_voided_approval_at_once(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    code, _, _ = run(capsys, "review", "t1", "--approve", "--no-gates", "--reason", "test")
    assert code == 0
    worktree = Path(json.loads(run(capsys, "status", "t1", "--json")[1])["worktree"])
    (worktree / "late.txt").write_text("late\n")
    git(worktree, "add", "late.txt")
    git(worktree, "commit", "-q", "-m", "late")
    code, out, _ = run(capsys, "status", "t1")
    assert code == 0 and "in_review" in out and "voided: worker/t1 is at" in out


def test_status_only_shows_a_stale_approval_and_the_next_check_records_it(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ai_skills.worker.ops.watch import read_events
    from ai_skills.worker.review.findings import check_task
    from ai_skills.worker.tasks import get_task

    to_review(ctx, conn, rconfig, "t1")
    assert run(capsys, "review", "t1", "--approve", "--no-gates", "--reason", "test")[0] == 0
    worktree = Path(json.loads(run(capsys, "status", "t1", "--json")[1])["worktree"])
    (worktree / "late.txt").write_text("late\n")
    git(worktree, "add", "late.txt")
    git(worktree, "commit", "-q", "-m", "late")
    shown = json.loads(run(capsys, "status", "t1", "--json")[1])
    assert shown["state"] == "in_review" and "voided" in shown["reason"]
    events = read_events(conn, task_id="t1")
    assert get_task(conn, "t1").state.value == "approved"
    assert not [e for e in events if e.data.get("action") == "approval voided"]
    after = check_task(ctx, conn, rconfig, "t1")
    assert after.state.value == "in_review" and after.reason == shown["reason"]
