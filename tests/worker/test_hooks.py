"""Hooks: `hook_command` runs through `sh -c` like gates, and each transition runs it once,
however many `worker watch` processes run and whether the daemon runs it instead."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from worker_helpers import git, processes_gone, wait_for, wait_state

from ai_skills.cli.worker import main

README = Path(__file__).parents[2] / "skills" / "hq" / "README.md"


def readme_hook() -> str:
    """The `hook_command = ...` line of the hq skill's README, as written there."""
    (line,) = [ln for ln in README.read_text().splitlines() if ln.startswith("hook_command = ")]
    return line


def transitions(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT task_id, to_state FROM events WHERE kind = 'transition' ORDER BY seq"
    ).fetchall()
    return [(task_id, state) for task_id, state in rows]


def require_jq() -> None:
    """jq runs the README's example; CI installs it (.ci/run), a local run may skip."""
    if shutil.which("jq") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("jq is not installed (CI must install it)")
        pytest.skip("jq is not installed")


def fake_notify_send(bin_dir: Path, out: Path) -> None:
    """A `notify-send` that appends its arguments to `out`, one call per line."""
    bin_dir.mkdir()
    script = bin_dir / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s|%s\\n" "$1" "$2" >> {out}\n')
    script.chmod(0o755)


def test_the_readme_hook_with_jq_runs_through_sh(
    worker_repo: Path,
    conn: sqlite3.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_jq()
    out = tmp_path / "notified.txt"
    fake_notify_send(tmp_path / "bin", out)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(worker_repo)
    with (worker_repo / ".worker.toml").open("a") as handle:
        handle.write(readme_hook() + "\n")
    git(worker_repo, "commit", "-qam", "hook from the README")
    assert main(["add", "t1", "--title", "one"]) == 0
    assert main(["start", "t1"]) == 0
    wait_state(conn, "t1", "in_review")
    assert main(["watch", "--once"]) == 0
    capsys.readouterr()
    assert out.read_text().splitlines() == ["worker|t1: running", "worker|t1: in_review"]


HOOK_LOG = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + chr(10))"


def counting_hook(repo: Path, out: Path) -> None:
    hook = f"{sys.executable} -c {json.dumps(HOOK_LOG)} {out}"
    with (repo / ".worker.toml").open("a") as handle:
        handle.write(f"hook_command = {json.dumps(hook)}\n")
    git(repo, "commit", "-qam", "hook")


def hooked(out: Path) -> list[tuple[str, str]]:
    if not out.exists():
        return []
    events = [json.loads(line) for line in out.read_text().splitlines()]
    return [(e["task_id"], e["to_state"]) for e in events]


@pytest.mark.slow
def test_each_transition_runs_the_hook_once_however_many_watchers_run(
    worker_repo: Path, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    out = tmp_path / "hook.jsonl"
    counting_hook(worker_repo, out)
    worker = [sys.executable, "-m", "ai_skills.cli.worker"]
    watchers = [
        subprocess.Popen(
            [*worker, "watch", "--follow"],
            cwd=worker_repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(3)
    ]
    try:
        for name in ("a", "b"):
            subprocess.run([*worker, "add", name, "--title", name], cwd=worker_repo, check=True)
            subprocess.run([*worker, "start", name], cwd=worker_repo, check=True)
        for name in ("a", "b"):
            wait_state(conn, name, "in_review")
        wait_for(lambda: len(hooked(out)) >= len(transitions(conn)), what="the hooks")
        subprocess.run([*worker, "watch", "--once"], cwd=worker_repo, check=True)
    finally:
        for watcher in watchers:
            watcher.terminate()
            watcher.wait()
    assert sorted(hooked(out)) == sorted(transitions(conn))
    assert len(transitions(conn)) == 4


@pytest.mark.slow
def test_the_daemon_runs_the_hook_without_any_watcher(
    worker_repo: Path,
    conn: sqlite3.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "hook.jsonl"
    counting_hook(worker_repo, out)
    monkeypatch.chdir(worker_repo)
    try:
        assert main(["daemon", "start"]) == 0
        assert main(["add", "t1", "--title", "one"]) == 0
        wait_state(conn, "t1", "in_review")
        wait_for(lambda: processes_gone(conn, "t1"))
        wait_for(lambda: len(hooked(out)) == 2, what="the daemon to run the hooks")
    finally:
        main(["daemon", "stop"])
    assert main(["watch", "--once"]) == 0  # nothing left for a watcher to run
    capsys.readouterr()
    assert hooked(out) == [("t1", "running"), ("t1", "in_review")]
    log = re.sub(r"\s+", " ", (worker_repo / ".git" / "worker" / "daemon.log").read_text())
    assert "Traceback" not in log
