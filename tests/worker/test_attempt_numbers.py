"""One attempt number, the task's own, in `start`, `status`, events and `tick`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from worker_helpers import wait_state

from ai_skills.cli.worker import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_a_second_task_starts_at_attempt_1_everywhere(
    worker_repo: Path,
    conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(worker_repo)
    for task in ("a", "b"):
        _run(capsys, "add", task, "--title", task)
    _run(capsys, "start", "a")
    wait_state(conn, "a", "in_review")
    # b's attempt is the store's second attempt, and b's first.
    assert "b: running (attempt 1," in _run(capsys, "start", "b")
    wait_state(conn, "b", "in_review")
    shown = json.loads(_run(capsys, "status", "b", "--json"))
    assert (shown["attempt"], shown["attempt_id"]) == (1, 2)
    events = [json.loads(line) for line in _run(capsys, "watch", "--once", "--json").splitlines()]
    b_events = [e for e in events if e["task_id"] == "b" and e["attempt_id"] is not None]
    assert b_events and {e["attempt"] for e in b_events} == {1}
    assert any(" b a1 transition" in line for line in _run(capsys, "watch", "--once").splitlines())
