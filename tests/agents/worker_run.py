"""Driving `worker` as its user does (the installed CLI, in a subprocess) for the agent suite."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .model_server import Request, Shell

WORKER = str(Path(sys.executable).parent / "worker")


def git(cwd: Path, *args: str) -> str:
    """Real git, stdout stripped."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def worker(env: dict[str, str], cwd: Path, *args: str, check: bool = True) -> str:
    """Run `worker ARGS` in `cwd` (with PWD set as a shell there would set it)."""
    proc = subprocess.run(
        [WORKER, *args], cwd=cwd, env={**env, "PWD": str(cwd)}, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"worker {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def status(env: dict[str, str], repo: Path, task_id: str) -> dict[str, Any]:
    """`worker status ID --json`."""
    data: dict[str, Any] = json.loads(worker(env, repo, "status", task_id, "--json"))
    return data


def wait_until(
    env: dict[str, str], repo: Path, task_id: str, states: set[str], *, timeout: float = 120
) -> dict[str, Any]:
    """Poll the task until it is in one of `states`; fail with its log when it never is."""
    deadline = time.monotonic() + timeout
    shown = status(env, repo, task_id)
    while time.monotonic() < deadline:
        shown = status(env, repo, task_id)
        if shown["state"] in states:
            return shown
        time.sleep(0.3)
    log = worker(env, repo, "logs", task_id, check=False)[-4000:]
    pytest.fail(f"{task_id} never reached {states}: {shown['state']} ({shown['reason']})\n{log}")


def wait_exited(env: dict[str, str], repo: Path, task_id: str, *, timeout: float = 60) -> None:
    """Wait until the current attempt's agent has exited (a headless agent exits after asking)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if status(env, repo, task_id)["exit_code"] is not None:
            return
        time.sleep(0.3)
    pytest.fail(f"the agent of {task_id} did not exit within {timeout}s")


def write_config(repo: Path, body: str) -> None:
    """Commit `.worker.toml` (fast heartbeats) so the main checkout stays clean."""
    (repo / ".worker.toml").write_text(
        "heartbeat_seconds = 0.5\nlease_seconds = 15\ntick_seconds = 0.5\n" + body
    )
    git(repo, "add", ".worker.toml")
    git(repo, "commit", "-q", "-m", "worker config")


_WORKER_IN_PROMPT = re.compile(r"`([^`\s]+) report --status done")


def worker_in_prompt(request: Request) -> str:
    """The `worker` program the prompt names (an agent copies it from there)."""
    found = _WORKER_IN_PROMPT.search(request.text)
    if found is None:
        raise AssertionError("the prompt names no `worker ... report --status done` command")
    return found.group(1)


def report(status_: str, message: str, before: str = "") -> Any:
    """A scripted turn: run `[before &&] WORKER report --status S --message M`."""

    def turn(request: Request) -> Shell:
        command = f"{worker_in_prompt(request)} report --status {status_} --message '{message}'"
        return Shell(f"{before} && {command}" if before else command)

    return turn
