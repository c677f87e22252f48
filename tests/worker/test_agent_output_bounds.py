"""What an agent writes (its log, its report message) is read and stored within bounds."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from worker_helpers import store_at

from ai_skills.worker.ops.status import follow_file
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.run.admission import LaunchPlan, admit
from ai_skills.worker.run.rate_limit import RateLimitRules
from ai_skills.worker.run.rate_limit_watch import LimitWatch
from ai_skills.worker.run.report import MAX_MESSAGE, report
from ai_skills.worker.tasks import NewTask, add_task, get_task

CLAUDE_RETRY = json.dumps({"type": "system", "subtype": "api_retry", "error_status": 429,
                           "error": "rate_limit"})


def test_a_log_line_without_end_does_not_grow_the_watchers_memory(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    watch = LimitWatch(log, RateLimitRules(switch_after_retries=1))
    agent = subprocess.Popen(["sleep", "60"], start_new_session=True)  # the group it stops
    with open(log, "wb") as handle:
        for _ in range(6):
            handle.write(b"x" * (1 << 20))  # one line of 6 MiB, never ended
            handle.flush()
            assert watch.check(agent.pid, now=0.0) == ""
    assert len(watch.partial) <= 64 * 1024
    with open(log, "ab") as handle:
        handle.write(b"\n" + CLAUDE_RETRY.encode() + b"\n")
    assert watch.check(agent.pid, now=0.0).startswith("live output:")  # later lines count
    assert agent.wait(timeout=10) == -signal.SIGTERM


def test_a_huge_report_message_is_stored_shortened(tmp_path: Path) -> None:
    conn = store_at(tmp_path / "w.db")
    add_task(conn, NewTask(task_id="t1", title="t", base="main"))
    plan = LaunchPlan(command=["agent"], worktree=tmp_path / "wt", runs_dir=tmp_path / "runs",
                      lease_seconds=1.0)
    admit(conn, "t1", plan, max_running=1)
    result = report(conn, task_id="t1", attempt_id=None, status="blocked",
                    message="why " * 500_000)
    assert result.accepted
    reason = get_task(conn, "t1").reason
    assert len(reason) <= MAX_MESSAGE and reason.startswith("why why")
    assert reason.endswith(f"[message cut at {MAX_MESSAGE} characters]")
    last = read_events(conn, since=0)[-1]
    assert len(json.dumps(last.data)) < 3 * MAX_MESSAGE


def test_logs_are_streamed_in_bounded_chunks(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_bytes(b"y" * (5 << 20))
    chunks = list(follow_file(log, finished=lambda: True))
    assert b"".join(chunks) == b"y" * (5 << 20)
    assert max(len(c) for c in chunks) <= 1 << 20
