"""CLI wiring: exit codes, messages, JSON, the original `--taskId` spelling, watch, daemon."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from worker_helpers import (
    agent_command,
    git,
    processes_gone,
    visible_path,
    wait_for,
    wait_state,
    write_config,
)

from ai_skills.cli.worker import main
from ai_skills.worker.context import RepoContext, find_repo
from ai_skills.worker.ops.daemon import daemon_status
from ai_skills.worker.store import open_store
from ai_skills.worker.tasks import get_task


@pytest.fixture
def in_repo(worker_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(worker_repo)
    return worker_repo


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for line in ("0  success", "3  unknown task id", "5  start deferred", "7  reconcile found"):
        assert line in out


@pytest.mark.parametrize("bad", ["-x", ".hidden", "has space", "a/b", "x" * 65, "a..b", "é"])
def test_invalid_task_ids_exit_2(
    in_repo: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    code, _, err = run(capsys, "add", "--title", "t", "--", bad)
    assert code == 2 and "invalid task id" in err


def test_add_duplicate_unknown_and_bad_base(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "add", "t1", "--title", "one", "--json")[0] == 0
    code, _, err = run(capsys, "add", "t1", "--title", "again")
    assert code == 4 and "task 't1' already exists (state queued)" in err
    code, _, err = run(capsys, "status", "nope")
    assert (
        code == 3
        and err.strip() == "worker: error: unknown task 'nope'; `worker status` lists the tasks"
    )
    code, _, err = run(capsys, "add", "t2", "--title", "x", "--base", "nope")
    assert code == 2 and "base branch 'nope' does not exist" in err


def test_description_file_and_scopes_are_recorded(
    in_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "spec.md"
    spec.write_text("Do the thing.\n")
    code, out, _ = run(
        capsys,
        "add",
        "t1",
        "--title",
        "one",
        "--description-file",
        str(spec),
        "--scope",
        "src/**",
        "--scope",
        "docs/*",
        "--priority",
        "5",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["description"] == "Do the thing.\n"
    assert data["scopes"] == ["src/**", "docs/*"] and data["priority"] == 5


def test_outside_a_repository_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "status")
    assert code == 3 and "not inside a git repository" in err


def test_invalid_config_exits_6_and_names_the_key(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_repo / ".worker.toml").write_text("max_runing = 2\n")
    code, _, err = run(capsys, "add", "t1", "--title", "x")
    assert code == 6 and ".worker.toml: max_runing: Extra inputs are not permitted" in err


def test_start_waiting_exits_5_and_cancel_with_original_spelling(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(in_repo, max_running=1, command=agent_command("hang"))
    run(capsys, "add", "a", "--title", "a")
    run(capsys, "add", "b", "--title", "b")
    assert run(capsys, "start", "a")[0] == 0
    code, out, _ = run(capsys, "start", "b", "--json")
    assert code == 5 and json.loads(out)["reason"] == "WIP limit 1 reached (running: a)"
    code, out, _ = run(capsys, "cancel", "--taskId=a", "--cleanup", "--reason=no longer needed")
    assert code == 0 and "a: cancelled" in out
    conn = open_store(find_repo(in_repo))
    assert tuple(conn.execute("SELECT state, reason FROM tasks WHERE id = 'a'").fetchone()) == (
        "cancelled",
        "no longer needed",
    )
    code, out, _ = run(capsys, "cancel", "a", "--reason", "again", "--json")
    assert code == 0 and json.loads(out)["already_cancelled"] is True
    code, _, err = run(capsys, "cancel", "a")
    assert code == 2 and "--reason" in err


def test_report_needs_a_task_and_refuses_illegal_moves(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "report", "--status", "done")
    assert code == 2 and "WORKER_TASK_ID" in err
    run(capsys, "add", "t1", "--title", "x")
    code, _, err = run(capsys, "report", "--status", "done", "--task", "t1")
    assert code == 2 and "has no attempt" in err
    code, _, err = run(capsys, "report", "--status", "finished", "--task", "t1")
    assert code == 2 and "unknown status 'finished'" in err


def test_logs_of_a_task_without_that_attempt_is_bad_input(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "add", "t1", "--title", "x")
    code, _, err = run(capsys, "logs", "t1")
    assert code == 2 and "task 't1' has no attempt yet; `worker start t1` runs one" in err
    code, _, err = run(capsys, "logs", "t1", "--attempt", "3")
    assert code == 2 and "task 't1' has no attempt 3" in err


def test_full_cycle_through_the_cli_with_watch_hook_and_logs(
    in_repo: Path,
    capsys: pytest.CaptureFixture[str],
    ctx: RepoContext,
    conn: sqlite3.Connection,
    tmp_path: Path,
) -> None:
    hook_out = tmp_path / "hook.jsonl"
    append = f"import sys; open({str(hook_out)!r}, 'a').write(sys.stdin.read() + chr(10))"
    hook = f'{sys.executable} -c "{append}"'
    with open(in_repo / ".worker.toml", "a") as handle:
        handle.write(f"hook_command = {json.dumps(hook)}\n")
    git(in_repo, "commit", "-qam", "hook")
    run(capsys, "add", "t1", "--title", "one")
    code, out, _ = run(capsys, "start", "t1", "--json")
    assert code == 0 and json.loads(out)["admitted"] is True
    wait_state(conn, "t1", "in_review")
    wait_for(lambda: processes_gone(conn, "t1"))
    code, out, _ = run(capsys, "logs", "t1", "--follow")
    assert code == 0 and "committed" in out and "report done: exit 0" in out
    code, out, _ = run(capsys, "watch", "--json", "--name", "me")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [e["seq"] for e in events] == list(range(1, len(events) + 1))
    moves = [(e["from_state"], e["to_state"]) for e in events if e["kind"] == "transition"]
    assert moves == [("queued", "running"), ("running", "in_review")]
    hooked = [json.loads(line) for line in hook_out.read_text().splitlines()]
    assert [h["to_state"] for h in hooked] == ["running", "in_review"]
    # The named cursor remembers where we stopped: nothing new, nothing printed.
    assert run(capsys, "watch", "--name", "me", "--no-hook")[1] == ""
    code, out, _ = run(capsys, "watch", "--since", str(events[-2]["seq"]), "--no-hook")
    assert len(out.splitlines()) == 1
    code, out, _ = run(capsys, "status", "--json")
    (row,) = json.loads(out)
    assert row["state"] == "in_review" and row["commits_ahead"] == 1
    code, out, _ = run(capsys, "reconcile", "--json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.slow
def test_daemon_start_is_idempotent_and_admits_waiting_tasks(
    in_repo: Path,
    capsys: pytest.CaptureFixture[str],
    ctx: RepoContext,
    conn: sqlite3.Connection,
    tmp_path: Path,
) -> None:
    release = visible_path("release")
    write_config(
        in_repo, max_running=1, command=agent_command("wait-file", "--release", str(release))
    )
    run(capsys, "add", "a", "--title", "a")
    run(capsys, "add", "b", "--title", "b")
    run(capsys, "start", "a")
    assert run(capsys, "start", "b")[0] == 5
    try:
        code, out, _ = run(capsys, "daemon", "start", "--json")
        first = json.loads(out)
        assert code == 0 and first["running"] and first["note"] == "started"
        code, out, _ = run(capsys, "daemon", "start", "--json")
        assert (
            json.loads(out)["pid"] == first["pid"] and json.loads(out)["note"] == "already running"
        )
        assert run(capsys, "daemon", "status")[0] == 0
        release.touch()
        wait_state(conn, "a", "in_review")
        wait_state(conn, "b", "in_review")
    finally:
        code, out, _ = run(capsys, "daemon", "stop")
    assert code == 0 and "stopped" in out
    assert not daemon_status(ctx).running
    assert run(capsys, "daemon", "status")[0] == 3
    assert get_task(conn, "b").current_attempt is not None
    assert os.path.exists(daemon_status(ctx).log_file)


def test_watch_follow_streams_new_events_until_stopped(
    ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    import threading

    from ai_skills.worker.ops.watch import stream_events
    from ai_skills.worker.tasks import NewTask, add_task

    seen: list[int] = []
    done = threading.Event()

    def consume() -> None:
        reader = open_store(ctx)
        for event in stream_events(reader, since=0, follow=True, poll=0.02, stop=done.is_set):
            seen.append(event.seq)
            if len(seen) == 3:
                done.set()

    thread = threading.Thread(target=consume)
    thread.start()
    for task_id in ("a", "b", "c"):
        add_task(conn, NewTask(task_id=task_id, title=task_id, base="main"))
    thread.join(timeout=30)
    assert not thread.is_alive() and seen == [1, 2, 3]


def test_report_from_an_old_attempt_exits_4_and_is_recorded(
    in_repo: Path,
    capsys: pytest.CaptureFixture[str],
    conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ai_skills.worker.store import transaction

    run(capsys, "add", "t1", "--title", "x")
    with transaction(conn):
        for attempt in (1, 2):
            conn.execute(
                "INSERT INTO attempts (id, task_id, number, worktree, branch, command, log_file,"
                " started_at) VALUES (?, 't1', ?, '/x', 'worker/t1', '[]', '/l', 0)",
                (attempt, attempt),
            )
        conn.execute("UPDATE tasks SET state = 'running', current_attempt = 2 WHERE id = 't1'")
    monkeypatch.setenv("WORKER_TASK_ID", "t1")
    monkeypatch.setenv("WORKER_ATTEMPT_ID", "1")
    code, _, err = run(capsys, "report", "--status", "done")
    assert code == 4 and "attempt 1 is not the current attempt (2)" in err
    assert get_task(conn, "t1").state.value == "running"
    monkeypatch.setenv("WORKER_ATTEMPT_ID", "2")
    code, out, _ = run(capsys, "report", "--status", "done", "--json")
    assert code == 0 and json.loads(out)["state"] == "in_review"


def test_add_idempotency_key_via_cli(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "add", "t1", "--title", "x", "--idempotency-key", "k", "--json")
    again = run(capsys, "add", "t1", "--title", "x", "--idempotency-key", "k", "--json")
    assert first[0] == again[0] == 0 and json.loads(first[1]) == json.loads(again[1])


def test_version_flag_prints_the_package_version() -> None:
    import subprocess
    import sys

    from ai_skills import __version__

    result = subprocess.run(
        [sys.executable, "-m", "ai_skills.cli.worker", "--version"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, f"worker {__version__}\n")


def test_status_shows_live_tasks_and_the_last_finished_unless_all(
    in_repo: Path, capsys: pytest.CaptureFixture[str], conn: sqlite3.Connection
) -> None:
    from ai_skills.cli.worker_run import RECENT_FINAL
    from ai_skills.worker.store import transaction

    for i in range(RECENT_FINAL + 3):
        run(capsys, "add", f"t{i:02d}", "--title", "x")
    with transaction(conn):
        # 21 finished tasks, t01 the one that changed first; t00 and t22 still queued.
        conn.execute("UPDATE tasks SET state = 'cancelled' WHERE id > 't00' AND id < 't22'")
        conn.execute("UPDATE tasks SET state = 'merged', updated_at = 0 WHERE id = 't01'")
    code, out, _ = run(capsys, "status", "--json")
    shown = [row["id"] for row in json.loads(out)]
    assert code == 0 and shown == ["t00", *(f"t{i:02d}" for i in range(2, RECENT_FINAL + 3))]
    code, out, _ = run(capsys, "status")
    assert out.splitlines()[-1] == "(1 older finished tasks not shown; `worker status --all` " \
        "lists them)"
    code, out, _ = run(capsys, "status", "--all", "--json")
    assert len(json.loads(out)) == RECENT_FINAL + 3
    code, out, _ = run(capsys, "status", "t01", "--json")
    assert json.loads(out)["state"] == "merged"
