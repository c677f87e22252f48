"""Review findings that matter: files outside the declared scopes, a `done` with no commits,
and a merge that must not say "merged" when the integration branch did not move."""

from __future__ import annotations

import json
import shlex
import sqlite3
from pathlib import Path

import pytest
from review_helpers import add_review_config
from worker_helpers import add, agent_command, git, processes_gone, wait_for, wait_state

from ai_skills.cli.worker import main
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ReviewRefusedError
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.review.gates import gate_task
from ai_skills.worker.review.merge import merge_task
from ai_skills.worker.review.records import record_approval
from ai_skills.worker.review.verdict import approve, show_review
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import transaction
from ai_skills.worker.tasks import get_task, transition


@pytest.fixture
def config(worker_repo: Path, monkeypatch: pytest.MonkeyPatch) -> WorkerConfig:
    """Gates in .worker.toml; commands run from the main checkout."""
    monkeypatch.chdir(worker_repo)
    return add_review_config(worker_repo)


def in_review(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    config: WorkerConfig,
    task_id: str,
    *agent_args: str,
    mode: str = "done",
    scopes: list[str] | None = None,
) -> None:
    command = shlex.split(agent_command(mode, *agent_args))
    add(conn, task_id, runtime_command=command, scopes=scopes or [])
    assert start_task(ctx, conn, config, task_id).admitted
    wait_state(conn, task_id, "in_review")
    wait_for(lambda: processes_gone(conn, task_id), what=f"the agent of {task_id} to exit")


def test_a_file_outside_the_declared_scope_is_a_finding_and_approval_needs_a_reason(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = add_review_config(worker_repo)
    in_review(
        ctx, conn, config, "t1", "--write", "src/a/ok.py", "--write", "x", scopes=["src/a/**"]
    )
    view = show_review(ctx, conn, config, "t1")
    assert view.state == "in_review"
    assert any("outside its declared scope" in f and "x" in f for f in view.findings)
    assert not any("src/a/ok.py" in f for f in view.findings)
    assert gate_task(ctx, conn, config.gates, "t1").passed
    with pytest.raises(ReviewRefusedError, match=r"outside its declared scope.*--reason"):
        approve(ctx, conn, config, "t1", human=False)
    done = approve(ctx, conn, config, "t1", human=False, reason="x is the shared fixture")
    assert done.state == "approved"
    (event,) = [e for e in read_events(conn, task_id="t1") if e.to_state == "approved"]
    assert event.data["note"] == "x is the shared fixture"


def test_the_policy_can_send_out_of_scope_changes_to_a_human(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = add_review_config(worker_repo, extra='\n[policy]\noutside_scope = "needs_human"\n')
    in_review(ctx, conn, config, "t1", "--write", "x", scopes=["src/a/**"])
    view = show_review(ctx, conn, config, "t1")
    assert view.state == "needs_human"
    assert "outside its declared scope (src/a/**): x" in view.reason


def test_scope_findings_can_be_turned_off_and_a_task_without_scopes_has_none(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    config = add_review_config(worker_repo, extra='\n[policy]\noutside_scope = "off"\n')
    in_review(ctx, conn, config, "t1", "--write", "x", scopes=["src/a/**"])
    in_review(ctx, conn, config, "t2", "--write", "y")
    for task_id in ("t1", "t2"):
        assert show_review(ctx, conn, config, task_id).findings == []


def test_review_through_the_cli_shows_the_scope_finding_and_takes_the_reason(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    config: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_review(ctx, conn, config, "t1", "--write", "x", scopes=["src/a/**"])
    assert main(["gate", "t1"]) == 0
    capsys.readouterr()
    assert main(["review", "t1"]) == 0
    out = capsys.readouterr().out
    assert "findings:" in out and "findings:\n  none" not in out
    assert "outside its declared scope (src/a/**): x" in out
    assert main(["review", "t1", "--approve"]) == 4
    assert "--reason" in capsys.readouterr().err
    assert main(["review", "t1", "--approve", "--reason", "fine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "approved"


def test_a_done_without_commits_cannot_be_approved_and_is_closed_as_nothing_to_do(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    config: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_review(ctx, conn, config, "t1", mode="empty-done")
    view = show_review(ctx, conn, config, "t1")
    assert any("no commits" in f for f in view.findings)
    assert gate_task(ctx, conn, config.gates, "t1").passed
    for kwargs in ({}, {"no_gates_reason": "docs only"}, {"reason": "fine"}):
        with pytest.raises(ReviewRefusedError, match="no commits"):
            approve(ctx, conn, config, "t1", human=False, **kwargs)  # type: ignore[arg-type]
    assert get_task(conn, "t1").state == TaskState.IN_REVIEW
    capsys.readouterr()
    assert main(["review", "t1", "--approve"]) == 4
    err = capsys.readouterr().err
    assert "no commits" in err and "worker cancel t1 --reason 'nothing to do'" in err
    assert main(["cancel", "t1", "--reason", "nothing to do", "--cleanup"]) == 0
    assert get_task(conn, "t1").state == TaskState.CANCELLED
    assert git(ctx.repo_root, "branch", "--list", "worker/t1") == ""


def _approved_anyway(conn: sqlite3.Connection, task_id: str, sha: str) -> None:
    """What an older worker did: approve whatever the head was."""
    with transaction(conn):
        record_approval(conn, task_id, sha=sha, by="reviewer", gates_waived="")
        task = get_task(conn, task_id)
        transition(conn, task, TaskState.APPROVED, action="approve", reason="approved")


def test_merge_of_an_empty_branch_is_refused_and_never_says_merged(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    config: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_review(ctx, conn, config, "t1", mode="empty-done")
    main_before = git(ctx.repo_root, "rev-parse", "main")
    _approved_anyway(conn, "t1", git(ctx.repo_root, "rev-parse", "worker/t1"))
    capsys.readouterr()
    code = main(["merge", "t1"])
    out, err = capsys.readouterr()
    assert code == 4 and "merged into" not in out and "no commits" in err
    assert git(ctx.repo_root, "rev-parse", "main") == main_before


def test_merge_of_work_already_in_main_says_main_did_not_move(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    config: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_review(ctx, conn, config, "t1")
    assert gate_task(ctx, conn, config.gates, "t1").passed
    assert approve(ctx, conn, config, "t1", human=False).state == "approved"
    git(ctx.repo_root, "merge", "-q", "--ff-only", "worker/t1")  # merged by hand meanwhile
    main_before = git(ctx.repo_root, "rev-parse", "main")
    result = merge_task(ctx, conn, config, "t1")
    assert result.outcome == "already_merged" and result.state == "merged"
    assert git(ctx.repo_root, "rev-parse", "main") == main_before
    from ai_skills.worker.review.text import merge_lines

    text = "\n".join(merge_lines(result))
    assert "merged into" not in text and "main did not move" in text
