"""Autostart: `tick` and the daemon start tasks that were only added, in priority order, as
slots free, honouring the WIP limit, scopes and rate-limit retry times."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    agent_command,
    processes_gone,
    visible_path,
    wait_for,
    wait_state,
    write_config,
)

from ai_skills.cli.worker import main
from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.ops.tick import tick
from ai_skills.worker.tasks import NewTask, add_task, get_task


def waiting_agents(repo: Path, release: Path, *, max_running: int, extra: str = "") -> None:
    command = agent_command("wait-file", "--release", str(release))
    write_config(repo, max_running=max_running, command=command, extra=extra)


def test_tick_starts_added_tasks_by_priority_as_slots_free(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    release = visible_path("release")
    waiting_agents(worker_repo, release, max_running=2)
    config = load_config(ctx.config_path)
    add(conn, "low", priority=0)
    add(conn, "high", priority=5)
    add(conn, "mid", priority=1)
    assert [r.task_id for r in tick(ctx, conn, config).started] == ["high", "mid"]
    assert tick(ctx, conn, config).started == []  # both slots taken
    assert get_task(conn, "low").state.value == "queued"
    release.touch()
    for task_id in ("high", "mid"):
        wait_state(conn, task_id, "in_review")
        wait_for(lambda t=task_id: processes_gone(conn, t), what=f"{task_id}'s agent to exit")
    assert [r.task_id for r in tick(ctx, conn, config).started] == ["low"]


def test_autostart_off_leaves_added_tasks_to_an_explicit_start(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    waiting_agents(worker_repo, visible_path("release"), max_running=2, extra="autostart = false\n")
    config = load_config(ctx.config_path)
    add(conn, "a")
    assert tick(ctx, conn, config).started == []
    assert get_task(conn, "a").state.value == "queued"


def test_autostart_honours_scopes_and_rate_limit_retry_times(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    waiting_agents(worker_repo, visible_path("release"), max_running=3)
    config = load_config(ctx.config_path)
    add(conn, "api", priority=5, scopes=["src/**"])
    add(conn, "api-part", priority=4, scopes=["src/api/**"])
    add(conn, "limited", priority=3)
    add(conn, "docs", priority=0, scopes=["docs/**"])
    conn.execute(
        "INSERT INTO task_profiles (task_id, not_before) VALUES ('limited', ?)"
        " ON CONFLICT (task_id) DO UPDATE SET not_before = excluded.not_before",
        (time.time() + 3600,),
    )
    assert [r.task_id for r in tick(ctx, conn, config).started] == ["api", "docs"]
    assert get_task(conn, "api-part").state.value == "queued"
    assert get_task(conn, "limited").state.value == "queued"


def test_a_task_that_cannot_start_does_not_hold_up_the_queue(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    waiting_agents(worker_repo, visible_path("release"), max_running=1)
    config = load_config(ctx.config_path)
    add(conn, "broken", priority=9, runtime_command=["no-such-agent-program"])
    add(conn, "fine")
    report = tick(ctx, conn, config)
    assert [e["task_id"] for e in report.errors] == ["broken"]
    assert "no-such-agent-program" in report.errors[0]["error"]
    assert [r.task_id for r in report.started] == ["fine"]


@pytest.mark.slow
def test_a_thousand_added_tasks_are_started_in_order_and_a_full_pass_stays_cheap(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    waiting_agents(worker_repo, visible_path("release"), max_running=3)
    config = load_config(ctx.config_path)
    for n in range(1000):
        add_task(conn, NewTask(task_id=f"t{n:04d}", title="x", base="main", priority=n % 7))
    started = time.monotonic()
    first = tick(ctx, conn, config)
    first_pass = time.monotonic() - started
    # Priority 6 first, then the oldest: t0006, t0013, t0020.
    assert [r.task_id for r in first.started] == ["t0006", "t0013", "t0020"]
    started = time.monotonic()
    full = tick(ctx, conn, config)
    full_pass = time.monotonic() - started
    assert full.started == [] and full.errors == []
    print(f"1000 queued: first pass {first_pass:.2f}s, pass with every slot taken {full_pass:.2f}s")


@pytest.mark.slow
def test_the_daemon_drains_added_tasks_without_a_start(
    worker_repo: Path,
    ctx: RepoContext,
    conn: sqlite3.Connection,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(worker_repo)
    write_config(worker_repo, max_running=2, command=agent_command("done"))
    for name in ("a", "b", "c", "d", "e"):
        assert main(["add", name, "--title", name]) == 0
    try:
        assert main(["daemon", "start"]) == 0
        for name in ("a", "b", "c", "d", "e"):
            wait_state(conn, name, "in_review", timeout=90)
    finally:
        main(["daemon", "stop"])
    capsys.readouterr()
    running = conn.execute("SELECT COUNT(*) FROM events e WHERE kind = 'agent_started'").fetchone()[
        0
    ]
    assert running == 5


def test_start_of_a_task_autostart_already_started_says_so_and_succeeds(
    worker_repo: Path,
    ctx: RepoContext,
    conn: sqlite3.Connection,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(worker_repo)
    # A supervisor runs `worker add` then `worker start` while the daemon autostarts queued
    # work; whichever comes first, the task runs once and `start` is not an error.
    release = visible_path("release")
    waiting_agents(worker_repo, release, max_running=2)
    add(conn, "a")
    [started] = tick(ctx, conn, load_config(ctx.config_path)).started
    assert main(["start", "a"]) == 0
    out = capsys.readouterr().out
    assert f"a: already running (attempt 1, supervisor pid {started.supervisor_pid})" in out
    assert get_task(conn, "a").current_attempt == started.attempt_id
    assert main(["start", "a", "--message", "more"]) == 4  # an answer cannot reach it now
    release.touch()
    wait_state(conn, "a", "in_review")
