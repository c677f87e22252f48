"""End to end: real git, real SQLite, real supervisor and agent processes (the scripted agent)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    agent_command,
    git,
    processes_gone,
    start_with,
    visible_path,
    wait_for,
    wait_state,
    write_config,
)

from ai_skills.worker.config import WorkerConfig, load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.ops.status import task_statuses
from ai_skills.worker.ops.tick import tick
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.report import report
from ai_skills.worker.tasks import get_attempt, get_task


def kinds(conn: sqlite3.Connection, task_id: str) -> list[str]:
    return [e.kind for e in read_events(conn, task_id=task_id)]


def test_agent_commits_reports_done_and_lands_in_review(
    ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig
) -> None:
    add(conn, "t1", description="Write the work file.")
    result = start_task(ctx, conn, config, "t1")
    assert result.admitted and result.state == "running" and result.warnings == []
    wait_state(conn, "t1", "in_review")
    attempt = get_attempt(conn, result.attempt_id)
    assert attempt is not None
    wait_for(
        lambda: (get_attempt(conn, attempt.id) or attempt).exit_code == 0,
        what="the supervisor to record the exit code",
    )
    assert git(ctx.repo_root, "log", "-1", "--format=%s", "worker/t1") == "agent work for t1"
    assert "work-t1.txt" in git(ctx.repo_root, "ls-tree", "--name-only", "worker/t1")
    prompt = Path(attempt.prompt_file or "").read_text()
    assert "task `t1`" in prompt and "Write the work file." in prompt
    log = Path(attempt.log_file).read_text()
    assert f"agent for t1 attempt {attempt.id} read {len(prompt)} chars" in log
    # Inside its sandbox the agent finds the prompt in its run folder, shown read-only.
    assert "prompt file /tmp/.worker-attempt/prompt.md" in log
    seen = kinds(conn, "t1")
    for kind in ("added", "worktree_ready", "agent_started", "report", "agent_exited"):
        assert kind in seen
    (row,) = task_statuses(ctx, conn, "t1")
    assert (row.state, row.commits_ahead, row.files_changed) == ("in_review", 1, 1)
    assert row.branch == "worker/t1" and row.worktree == attempt.worktree


@pytest.mark.slow
def test_wip_limit_two_runs_two_and_the_third_waits(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    release = visible_path("release")
    write_config(
        worker_repo, max_running=2, command=agent_command("wait-file", "--release", str(release))
    )
    config = load_config(ctx.config_path)
    for task_id in ("t1", "t2", "t3"):
        add(conn, task_id)
    assert start_task(ctx, conn, config, "t1").admitted
    assert start_task(ctx, conn, config, "t2").admitted
    third = start_task(ctx, conn, config, "t3")
    assert not third.admitted
    assert third.reason == "WIP limit 2 reached (running: t1, t2)"
    assert get_task(conn, "t3").waiting_reason == third.reason
    assert tick(ctx, conn, config).waiting[0].task_id == "t3"
    release.touch()
    wait_state(conn, "t1", "in_review")
    wait_state(conn, "t2", "in_review")
    started = tick(ctx, conn, config).started
    assert [r.task_id for r in started] == ["t3"]
    wait_state(conn, "t3", "in_review")


def test_overlapping_scope_waits_with_the_reason(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, command=agent_command("hang"))
    config = load_config(ctx.config_path)
    add(conn, "api", scopes=["src/api/**"])
    add(conn, "users", scopes=["src/api/users.py"])
    add(conn, "docs", scopes=["docs/**"])
    assert start_task(ctx, conn, config, "api").admitted
    waiting = start_task(ctx, conn, config, "users")
    assert not waiting.admitted
    assert "overlaps running task 'api'" in waiting.reason
    assert start_task(ctx, conn, config, "docs").admitted


def test_agent_that_crashes_ends_failed_with_the_reason(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    start_with(worker_repo, ctx, conn, "crash")
    wait_state(conn, "t1", "failed")
    reason = get_task(conn, "t1").reason
    assert reason.startswith("agent exited with code 3 without reporting done; `worker retry t1`")


def test_agent_that_exits_without_reporting_ends_stalled(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    start_with(worker_repo, ctx, conn, "silent")
    wait_state(conn, "t1", "stalled")
    assert "without reporting done" in get_task(conn, "t1").reason
    # The commit it made is on the branch all the same.
    assert git(ctx.repo_root, "log", "-1", "--format=%s", "worker/t1") == "agent work for t1"


def test_agent_asking_for_input_ends_in_needs_input(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    start_with(worker_repo, ctx, conn, "needs-input")
    wait_state(conn, "t1", "needs_input")
    wait_for(lambda: "agent_exited" in kinds(conn, "t1"), what="agent exit")
    task = get_task(conn, "t1")
    assert task.state.value == "needs_input" and task.reason == "which database should I use?"


def test_answered_question_restarts_the_agent_with_the_answer_in_its_prompt(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, command=agent_command("needs-input"))
    add(conn, "t1")
    config = load_config(ctx.config_path)
    start_task(ctx, conn, config, "t1")
    wait_state(conn, "t1", "needs_input")
    first = get_task(conn, "t1").current_attempt
    # Not the `agent_exited` event: its supervisor still runs a moment after writing it, and
    # a task that asked may restart only once nothing of its attempt runs.
    wait_for(lambda: processes_gone(conn, "t1"), what="agent and supervisor exit")
    write_config(worker_repo, command=agent_command("done"))
    result = start_task(
        ctx, conn, load_config(ctx.config_path), "t1", message="Use SQLite; no server."
    )
    assert result.admitted and result.attempt_id != first
    attempt = get_attempt(conn, result.attempt_id)
    assert attempt is not None and attempt.prompt_file is not None
    assert "Use SQLite; no server." in Path(attempt.prompt_file).read_text()
    wait_state(conn, "t1", "in_review")


def test_restarting_a_stalled_task_stops_its_hung_agent_first(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    from ai_skills.worker.process_identity import is_alive

    write_config(worker_repo, command=agent_command("hang"))
    with (worker_repo / ".worker.toml").open("a") as handle:
        handle.write("stall_after_seconds = 1\n")
    config = load_config(ctx.config_path)
    add(conn, "t1")
    start_task(ctx, conn, config, "t1")
    wait_for(lambda: "agent_started" in kinds(conn, "t1"), what="agent start")
    wait_for(
        lambda: bool(tick(ctx, conn, config).stalled) or state_is(conn, "t1", "stalled"),
        what="stall verdict",
        timeout=30,
    )
    hung = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert hung is not None
    # The stall stops the agent (test_lifecycle); a restart must not wait for it.
    result = start_task(ctx, conn, config, "t1")
    assert result.admitted and result.attempt_id != hung.id
    assert not is_alive(hung.agent_pid, hung.agent_token)


def state_is(conn: sqlite3.Connection, task_id: str, state: str) -> bool:
    return get_task(conn, task_id).state.value == state


def test_no_second_attempt_while_the_agent_that_asked_still_runs(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    from ai_skills.worker.errors import AgentStillRunningError

    start_with(worker_repo, ctx, conn, "ask-and-wait", task_id="t2")
    wait_state(conn, "t2", "needs_input")
    with pytest.raises(AgentStillRunningError, match="the agent of attempt 1 still runs"):
        start_task(ctx, conn, load_config(ctx.config_path), "t2", message="x")
    assert "x" not in get_task(conn, "t2").reason


@pytest.mark.slow
def test_report_from_an_old_attempt_is_recorded_and_ignored(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, command=agent_command("silent"))
    add(conn, "t1")
    config = load_config(ctx.config_path)
    first = start_task(ctx, conn, config, "t1")
    wait_state(conn, "t1", "stalled")
    write_config(worker_repo, command=agent_command("hang"))
    second = start_task(ctx, conn, load_config(ctx.config_path), "t1")
    assert second.admitted and second.attempt_id != first.attempt_id
    assert first.attempt_id is not None
    stale = report(conn, task_id="t1", attempt_id=first.attempt_id, status="done")
    assert not stale.accepted and "not the current attempt" in stale.note
    assert get_task(conn, "t1").state.value == "running"
    # The second attempt's supervisor may log `agent_started` after it: look the event up.
    stale_events = [e for e in read_events(conn, task_id="t1") if e.kind == "stale_report"]
    assert [e.attempt_id for e in stale_events] == [first.attempt_id]
    # The second attempt reuses the branch: the first attempt's commit is still there.
    assert git(ctx.repo_root, "rev-list", "--count", "main..worker/t1") == "1"


def test_dirty_main_checkout_is_explained_at_start(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig
) -> None:
    (worker_repo / "README.md").write_text("edited but not committed\n")
    add(conn, "t1")
    result = start_task(ctx, conn, config, "t1")
    assert len(result.warnings) == 1
    assert "NOT part of task 't1'" in result.warnings[0]
    wait_state(conn, "t1", "in_review")
    assert git(ctx.repo_root, "show", "worker/t1:README.md") == "demo"


def test_runtime_not_found_is_refused_before_anything_changes(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    from ai_skills.worker.errors import RuntimeNotFoundError

    write_config(worker_repo, command="no-such-agent-8c1f --json")
    add(conn, "t1")
    with pytest.raises(RuntimeNotFoundError, match="'no-such-agent-8c1f' not found"):
        start_task(ctx, conn, load_config(ctx.config_path), "t1")
    task = get_task(conn, "t1")
    assert task.state.value == "queued" and task.current_attempt is None
    assert "worker/t1" not in git(ctx.repo_root, "branch", "--list")


def test_base_branch_that_does_not_exist_is_refused_at_start(
    ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig
) -> None:
    from ai_skills.worker.errors import BaseBranchError
    from ai_skills.worker.tasks import NewTask, add_task

    add_task(conn, NewTask(task_id="t1", title="t", base="release-9"))
    with pytest.raises(BaseBranchError, match="base branch 'release-9' does not exist"):
        start_task(ctx, conn, config, "t1")
    assert get_task(conn, "t1").state.value == "queued"


def test_status_json_shape(ctx: RepoContext, conn: sqlite3.Connection) -> None:
    add(conn, "t1")
    (row,) = task_statuses(ctx, conn)
    data = json.loads(json.dumps(row.as_dict()))
    for key in (
        "id",
        "title",
        "state",
        "branch",
        "worktree",
        "attempt",
        "pid",
        "heartbeat_age",
        "commits_ahead",
        "files_changed",
    ):
        assert key in data
    assert data["state"] == "queued" and data["commits_ahead"] is None


def test_free_slots_go_to_the_queue_in_priority_order(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    release = visible_path("release")
    # Only the starts asked for wait in the queue here (test_autostart: every queued task).
    write_config(
        worker_repo,
        max_running=1,
        command=agent_command("wait-file", "--release", str(release)),
        extra="autostart = false\n",
    )
    config = load_config(ctx.config_path)
    add(conn, "first")
    add(conn, "low", priority=0)
    add(conn, "high", priority=5)
    assert start_task(ctx, conn, config, "first").admitted
    assert not start_task(ctx, conn, config, "low").admitted
    assert not start_task(ctx, conn, config, "high").admitted
    release.touch()
    wait_state(conn, "first", "in_review")
    # Its slot frees when its agent has exited, not when it reports done (test_lifecycle).
    wait_for(lambda: processes_gone(conn, "first"), what="the agent of first to exit")
    assert [r.task_id for r in tick(ctx, conn, config).started] == ["high"]
    # An explicit start does not jump the queue either.
    wait_state(conn, "high", "in_review")
    wait_for(lambda: processes_gone(conn, "high"), what="the agent of high to exit")
    add(conn, "later")
    later = start_task(ctx, conn, config, "later")
    assert later.reason == "1 task(s) ahead in the queue (low)"
    assert [r.task_id for r in tick(ctx, conn, config).started] == ["low"]
