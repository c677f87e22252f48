"""The sandbox: each agent can write only its own clone; writes elsewhere are blocked and are
findings of that task alone; what it started ends with it; its clone's git config never runs
on worker's side. (The attack of issue 14 is in test_sandbox_attack.py.)"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    agent_command,
    git,
    processes_gone,
    stall_once_idle,
    start_with,
    visible_path,
    wait_agent_running,
    wait_for,
    wait_log,
    wait_state,
    write_config,
)

from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.ops.reconcile import reconcile
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.review.gates import gate_task
from ai_skills.worker.run.cancel import CancelOptions, cancel_task
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.sandbox import available
from ai_skills.worker.tasks import get_attempt, get_task

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _bwrap() -> None:
    why = available()
    if why:
        if IN_CI:
            pytest.fail(f"{why} (.ci/run installs bubblewrap)")
        pytest.skip(why)


def attempt_processes_by_environ(conn: sqlite3.Connection, attempt_id: int) -> list[int]:
    """Every live process started for the attempt (setsid or not): it carries the attempt's
    id and its workspace (unique to this test) in its environment."""
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None
    marks = {f"WORKER_ATTEMPT_ID={attempt_id}".encode(), f"PWD={attempt.worktree}".encode()}
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            environ = set(Path(f"/proc/{name}/environ").read_bytes().split(b"\0"))
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marks <= environ and state not in ("Z", "X"):
            found.append(int(name))
    return found


def wait_gone(conn: sqlite3.Connection, attempt_id: int) -> None:
    """Until nothing of the attempt runs; fail naming what still does."""

    def alive() -> str:
        pids = attempt_processes_by_environ(conn, attempt_id)
        return "; ".join(Path(f"/proc/{p}/stat").read_text()[:80] for p in pids)

    wait_for(lambda: not attempt_processes_by_environ(conn, attempt_id),
             what=lambda: f"every process of the attempt to end (still: {alive()})")


@pytest.mark.slow
def test_a_write_to_the_main_checkout_is_blocked_and_found_for_that_task_only(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # Before the sandbox, every task running at the time went to needs_human.
    release = visible_path("release")
    write_config(worker_repo, command=agent_command("wait-file", "--release", str(release)))
    config = load_config(ctx.config_path)
    add(conn, "calm")
    assert start_task(ctx, conn, config, "calm").admitted
    escape = agent_command("escape", "--main", str(worker_repo))
    add(conn, "t1", runtime_command=escape.split())
    assert start_task(ctx, conn, config, "t1").admitted
    wait_state(conn, "t1", "needs_human")
    release.touch()
    wait_state(conn, "calm", "in_review")
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="calm")])

    assert not (worker_repo / "escaped.txt").exists()
    assert git(worker_repo, "status", "--porcelain") == ""
    reason = get_task(conn, "t1").reason
    assert reason.startswith(
        f"changed outside its worktree: main_checkout {worker_repo}: blocked 1 write(s): "
        "escaped.txt (nothing changed there; what it wrote is kept in "
    )
    trap = Path(reason.rsplit("kept in ", 1)[1].rstrip(")"))
    assert (trap / "escaped.txt").read_text() == "written by a worker\n"
    assert [e for e in read_events(conn, task_id="calm") if e.kind == "containment"] == []


@pytest.mark.slow
def test_a_write_into_another_tasks_workspace_is_blocked(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    add(conn, "t0")
    start_task(ctx, conn, load_config(ctx.config_path), "t0")
    wait_state(conn, "t0", "in_review")
    other = Path(get_task(conn, "t0").worktree or "")
    start_with(
        worker_repo, ctx, conn, "done", "--write", "mine.txt", "--write",
        str(other / "intruder.txt"),
    )
    wait_state(conn, "t1", "needs_human")
    assert not (other / "intruder.txt").exists()
    assert get_task(conn, "t1").reason.startswith(
        f"changed outside its worktree: workspaces {other.parent}: blocked 1 write(s): t0 "
    )
    assert get_task(conn, "t0").state.value == "in_review"


@pytest.mark.slow
def test_the_role_commands_find_no_store_in_the_sandbox(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    start_with(worker_repo, ctx, conn, "rogue", "--main", str(worker_repo))
    wait_state(conn, "t1", "needs_human")
    attempt = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert attempt is not None
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="t1")])
    log = Path(attempt.log_file).read_text()
    for command in ("review", "merge", "cancel", "add", "start"):
        assert f"worker {command}: exit 4: worker: error: `worker {command}` refused" in log
    # With the variables removed, from the main checkout's path: there is no store there.
    # (That `worker` opened a store of its own in the trap: the task's finding.)
    assert "worker cancel: exit 3: worker: error: unknown task 't1'" in log
    assert ".git/worker" in get_task(conn, "t1").reason
    assert [t for (t,) in conn.execute("SELECT id FROM tasks")] == ["t1"]


def test_an_agent_writes_its_own_copy_of_a_state_folder(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    state = visible_path(".agent-state")
    state.mkdir()
    (state / "settings.json").write_text("{}\n")
    write_config(
        worker_repo,
        command=agent_command("done", "--write", str(state / "settings.json"), "--write", "x"),
        extra=f'sandbox_state = ["~/{state.name}"]\n',
    )
    add(conn, "t1")
    start_task(ctx, conn, load_config(ctx.config_path), "t1")
    wait_state(conn, "t1", "in_review")
    assert (state / "settings.json").read_text() == "{}\n", "the user's own copy is untouched"
    (copy,) = (ctx.worker_dir / "homes" / "t1").glob(f"{state.name.lstrip('.')}-*")
    assert (copy / "settings.json").read_text().startswith("work of t1")


@pytest.mark.slow
def test_cancel_stops_everything_the_agent_started_also_what_left_its_group(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "sneaky-children")
    wait_log(conn, attempt_id, "committed")
    assert len(attempt_processes_by_environ(conn, attempt_id)) >= 3  # agent and two children
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="enough", grace_seconds=5))
    assert result.agent == "terminated"
    wait_gone(conn, attempt_id)
    assert processes_gone(conn, "t1")


@pytest.mark.slow
def test_the_agent_gets_its_grace_and_a_stubborn_one_is_killed(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    attempt_id = start_with(worker_repo, ctx, conn, "stubborn")
    wait_log(conn, attempt_id, "left uncommitted work")
    started = time.monotonic()
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="x", grace_seconds=1))
    assert result.agent == "killed" and time.monotonic() - started >= 1
    assert processes_gone(conn, "t1")
    assert git(ctx.repo_root, "show", "worker/t1:wip-t1.txt") == "half-done work"


@pytest.mark.slow
def test_a_sandboxed_agent_ends_with_its_supervisor(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # Its report channel and fetches die with the supervisor, so it must not run on alone.
    attempt_id = start_with(worker_repo, ctx, conn, "hang")
    wait_agent_running(conn, attempt_id)
    # Once the agent runs: in bwrap's first moments its inner process may not have armed
    # --die-with-parent yet (it then outlives us, and reconcile names it as an orphan).
    wait_log(conn, attempt_id, "committed")
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None and attempt.supervisor_pid
    os.kill(attempt.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: processes_gone(conn, "t1"), what="the agent to end with its supervisor")
    wait_gone(conn, attempt_id)
    conn.execute("UPDATE attempts SET lease_until = 0 WHERE id = ?", (attempt_id,))
    findings = reconcile(ctx, conn, load_config(ctx.config_path), fix=True)
    assert [(f.kind, f.fixed) for f in findings] == [("process_dead", True)], findings
    assert get_task(conn, "t1").state.value == "stalled"


@pytest.mark.slow
def test_the_clones_git_config_never_runs_on_workers_side(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # In a linked worktree `git config` writes the main repository's config: the agent's
    # fsmonitor ran in every `git status` of the supervisor, the main checkout included.
    marker = visible_path("pwned")
    write_config(worker_repo, extra='[gates]\ntest = "true"\n')
    start_with(worker_repo, ctx, conn, "hostile-config", "--marker", str(marker))
    wait_state(conn, "t1", "in_review")
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="t1")])
    git(worker_repo, "status", "--porcelain")
    with pytest.raises(Exception, match="uncommitted change"):
        gate_task(ctx, conn, load_config(ctx.config_path).gates, "t1")
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="x", cleanup=True))
    assert result.saved_commit and result.worktree_removed
    assert git(ctx.repo_root, "show", f"{result.saved_commit}:left-over.txt") == "not committed"
    assert not marker.exists(), "a command from the agent's git config ran on worker's side"


def test_start_and_doctor_say_when_there_is_no_sandbox(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from ai_skills.cli.worker import main
    from ai_skills.worker.config import WorkerConfig
    from ai_skills.worker.ops.doctor import sandbox_check

    write_config(worker_repo, command=agent_command("hang"), sandbox="none")
    monkeypatch.chdir(worker_repo)
    monkeypatch.setenv("PWD", str(worker_repo))
    assert main(["add", "t1", "--title", "x"]) == 0
    assert main(["start", "t1"]) == 0
    err = capsys.readouterr().err
    assert 'no sandbox: sandbox = "none" in .worker.toml; the agent can write anywhere' in err

    home = Path(os.environ["HOME"])
    none = sandbox_check(WorkerConfig(sandbox="none"), ["claude", "-p"], os.environ)
    assert (none.status, none.fix) == ("warn", 'remove sandbox = "none" from .worker.toml')
    ok = sandbox_check(WorkerConfig(), ["claude", "-p"], os.environ)
    assert ok.status == "ok"
    assert f"private copies of {home / '.claude'}, {home / '.claude.json'}" in ok.detail


def test_a_gate_runs_the_agents_code_in_a_sandbox_too(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    # A gate runs what the agent wrote (tests, build files) with worker's powers otherwise.
    outside = visible_path("gate-was-here")
    gate = f"touch built.txt && (touch {outside} || true)"
    write_config(worker_repo, extra=f"[gates]\ntest = {gate!r}\n".replace("'", '"'))
    add(conn, "t1")
    start_task(ctx, conn, load_config(ctx.config_path), "t1")
    wait_state(conn, "t1", "in_review")
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="t1")])
    verdict = gate_task(ctx, conn, load_config(ctx.config_path).gates, "t1")
    assert verdict.passed, verdict.problem
    assert (Path(get_task(conn, "t1").worktree or "") / "built.txt").exists()
    assert not outside.exists()


@pytest.mark.slow
def test_a_stalled_sandboxed_agent_is_stopped_with_everything_it_started(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, command=agent_command("sneaky-children"))
    add(conn, "t1")
    attempt_id = start_task(ctx, conn, load_config(ctx.config_path), "t1").attempt_id
    assert attempt_id is not None
    stall_once_idle(conn, attempt_id, "committed")
    wait_state(conn, "t1", "stalled")
    wait_gone(conn, attempt_id)
    wait_for(lambda: "agent_exited" in [e.kind for e in read_events(conn, task_id="t1")])
    assert get_task(conn, "t1").state.value == "stalled"  # not failed by the TERM


def test_a_report_through_the_channel_applies_to_its_own_attempt_only(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    from ai_skills.worker.run.report_socket import send

    write_config(worker_repo, command=agent_command("hang"))
    config = load_config(ctx.config_path)
    for task_id in ("t1", "victim"):
        add(conn, task_id)
        assert start_task(ctx, conn, config, task_id).admitted
    attempt = get_attempt(conn, get_task(conn, "t1").current_attempt)
    victim = get_task(conn, "victim")
    assert attempt is not None
    wait_agent_running(conn, attempt.id)
    socket = Path(attempt.log_file).parent / "report.sock"
    reply = send(socket, {"status": "done", "message": "not mine", "task_id": "victim",
                          "attempt_id": victim.current_attempt, "task": "victim"})
    assert reply["result"]["task_id"] == "t1" and reply["result"]["accepted"]
    assert get_task(conn, "t1").state.value == "in_review"
    assert get_task(conn, "victim").state.value == "running"
    # The idempotency key is the attempt's own: another command's stored result stays hidden.
    again = send(socket, {"status": "working", "key": "k"})
    assert "error" in again and "in_review" in again["error"]


def test_an_agent_program_under_tmp_still_runs_in_the_private_tmp(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    # The sandbox's /tmp is empty; the program (and its PATH) are shown where they were.
    script = tmp_path / "bin" / "my-agent"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\necho work > work.txt && git add work.txt && git commit -qm work\n"
        f"exec {agent_command('empty-done')}\n"
    )
    script.chmod(0o755)
    write_config(worker_repo, command=str(script))
    add(conn, "t1")
    start_task(ctx, conn, load_config(ctx.config_path), "t1")
    wait_state(conn, "t1", "in_review")
    assert git(ctx.repo_root, "show", "worker/t1:work.txt") == "work"
