"""Several processes reporting and ticking at once: no "database is locked", no lost event."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from worker_helpers import add

from ai_skills.worker.context import RepoContext
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import transaction
from ai_skills.worker.tasks import get_task

REPORTER = """
import sys, time, pathlib
from ai_skills.worker.context import find_repo
from ai_skills.worker.store import open_store
from ai_skills.worker.run.report import report
repo, task, go = sys.argv[1], sys.argv[2], sys.argv[5]
attempt, n = int(sys.argv[3]), int(sys.argv[4])
conn = open_store(find_repo(pathlib.Path(repo)))
print("ready", flush=True)
while not pathlib.Path(go).exists(): time.sleep(0.001)
failures = 0
for i in range(n):
    try:
        report(conn, task_id=task, attempt_id=attempt,
               status="needs-input" if i % 2 else "working", message=str(i))
    except Exception as exc:
        failures += 1
        print("FAIL", type(exc).__name__, exc, file=sys.stderr)
print(failures)
"""

TICKER = """
import sys, time, pathlib
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import find_repo
from ai_skills.worker.store import open_store
from ai_skills.worker.ops.tick import tick
repo, n, go = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = find_repo(repo)
conn = open_store(ctx)
config = WorkerConfig(max_running=20, lease_seconds=3600, stall_after_seconds=3600)
print("ready", flush=True)
while not pathlib.Path(go).exists(): time.sleep(0.001)
failures = 0
for _ in range(n):
    try:
        tick(ctx, conn, config)
    except Exception as exc:
        failures += 1
        print("FAIL", type(exc).__name__, exc, file=sys.stderr)
print(failures)
"""


def _fake_running(conn: sqlite3.Connection, task_id: str, attempt_id: int) -> None:
    """A running task whose attempt looks alive to liveness (long lease, fresh progress)."""
    now = time.time()
    with transaction(conn):
        conn.execute(
            "INSERT INTO attempts (id, task_id, number, worktree, branch, command, log_file,"
            " started_at, lease_until, progress_at) VALUES (?, ?, 1, '/nowhere', ?, '[]',"
            " '/nowhere.log', ?, ?, ?)",
            (attempt_id, task_id, f"worker/{task_id}", now, now + 3600, now),
        )
        conn.execute(
            "UPDATE tasks SET state = 'running', current_attempt = ?, version = 2 WHERE id = ?",
            (attempt_id, task_id),
        )
        conn.execute(
            "INSERT INTO events (at, task_id, attempt_id, kind, from_state, to_state)"
            " VALUES (?, ?, ?, 'transition', 'queued', 'running')",
            (now, task_id, attempt_id),
        )


@pytest.mark.slow
def test_reporters_and_tickers_at_once_never_fail_a_write(
    ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    reporters, reports_each, tickers = 6, 40, 2
    for i in range(reporters):
        add(conn, f"t{i}")
        _fake_running(conn, f"t{i}", 100 + i)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                REPORTER,
                str(ctx.repo_root),
                f"t{i}",
                str(100 + i),
                str(reports_each),
                str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(reporters)
    ] + [
        subprocess.Popen(
            [sys.executable, "-c", TICKER, str(ctx.repo_root), "15", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(tickers)
    ]
    # Each process connects first and says so: then they all start writing at once.
    assert [p.stdout.readline() if p.stdout else "" for p in procs] == ["ready\n"] * len(procs)
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    assert [(out.strip(), err) for out, err in results] == [("0", "")] * len(procs)
    for i in range(reporters):
        task = get_task(conn, f"t{i}")
        # Alternating working/needs-input: each report is one transition after the start.
        assert task.state == TaskState.NEEDS_INPUT
        transitions = conn.execute(
            "SELECT COUNT(*) FROM events WHERE task_id = ? AND kind = 'transition'",
            (f"t{i}",),
        ).fetchone()[0]
        assert transitions == 1 + reports_each - 1  # the first "working" is not a change
        assert task.version == 1 + transitions
    seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
