"""The attack of issue 14, run by a scripted agent: it must fail with nothing changed.

From inside its task, the agent starts a detached process (`setsid`, the WORKER_* variables
removed, WORKER_ALLOW_WRITES=1) that waits until the task is in review, then approves and
merges it from the main checkout; and a double-forked one that cancels another running task.
Before the sandbox, both worked (also with `require_write_opt_in = true`).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from worker_helpers import add, agent_command, git, wait_state, write_config

from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.review.records import get_review
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.tasks import Attempt, get_attempt, get_task


def get_task_attempt(conn: sqlite3.Connection, task_id: str) -> Attempt:
    attempt = get_attempt(conn, get_task(conn, task_id).current_attempt)
    assert attempt is not None
    return attempt


@pytest.mark.slow
def test_an_agent_cannot_approve_merge_or_cancel_from_a_detached_process(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, extra="require_write_opt_in = true\n")
    config = load_config(ctx.config_path)
    main_before = git(worker_repo, "rev-parse", "main")
    add(conn, "victim", runtime_command=agent_command("hang").split())
    assert start_task(ctx, conn, config, "victim").admitted
    attack = agent_command("attack", "--main", str(worker_repo), "--victim", "victim")
    add(conn, "t1", runtime_command=attack.split())
    assert start_task(ctx, conn, config, "t1").admitted
    wait_state(conn, "t1", "needs_human")
    time.sleep(4)  # the detached process approves and merges two seconds after it started

    states = {t: get_task(conn, t).state.value for t in ("t1", "victim")}
    assert states == {"t1": "needs_human", "victim": "running"}
    assert git(worker_repo, "rev-parse", "main") == main_before
    assert git(worker_repo, "status", "--porcelain") == ""
    assert get_review(conn, "t1").approved_sha is None
    # Its `worker` found no store in the main checkout's place, only the attempt's trap, and
    # what it wrote there (a store of its own) is the finding of this task alone.
    log = Path(get_task_attempt(conn, "t1").log_file).read_text()
    assert "attack cancel: 3" in log
    reason = get_task(conn, "t1").reason
    assert reason.startswith(f"changed outside its worktree: main_checkout {worker_repo}: blocked")
    assert ".git/worker" in reason
    assert get_task(conn, "victim").reason == ""
