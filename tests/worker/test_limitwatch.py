"""Live rate-limit evidence: what the real agents printed (tests/agents/), and the stop."""

from __future__ import annotations

import json
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from worker_helpers import AGENT, FAST_CONFIG, add, git, wait_for, wait_state

from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.ops.status import task_statuses
from ai_skills.worker.ops.tick import tick
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.rate_limit import RateLimitRules
from ai_skills.worker.run.rate_limit_watch import LimitWatch, live_evidence

# Lines recorded from Claude Code 2.1.197, Codex 0.171.0 and OpenCode 1.18.33 (trimmed).
CLAUDE_RETRY = (
    '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,'
    '"retry_delay_ms":1000,"error_status":429,"error":"rate_limit","session_id":"s"}'
)
CODEX_RETRY = (
    '{"type":"error","message":"Reconnecting... 1/5 (exceeded retry limit, last status: '
    '429 Too Many Requests)"}'
)
CODEX_QUOTA = '{"type":"error","message":"Quota exceeded. Check your plan and billing details."}'
OPENCODE_RETRY = (
    'timestamp=2026-11-30T11:05:52.471Z level=ERROR run=8c2a1e04 message="stream error" '
    'providerID=scripted error.error="AI_APICallError: Rate limit reached for requests. '
    'Please try again in 1s."'
)
OPENCODE_QUOTA = (
    'timestamp=2026-11-30T11:06:28.943Z level=ERROR run=8fea4f14 message="stream error" '
    'providerID=scripted modelID=scripted session.id=ses_dd3dda017ffeOq1ev63FkFIsHl '
    'small=false agent=build mode=primary error.error="AI_APICallError: You exceeded your '
    'current quota, please check your plan and billing details."'
)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (CLAUDE_RETRY, "retry"),
        (CODEX_RETRY, "retry"),
        (CODEX_QUOTA, "quota"),
        (OPENCODE_RETRY, "retry"),
        (OPENCODE_QUOTA, "quota"),
        # The model talking about rate limits, or a tool printing them, is not evidence.
        ('{"type":"assistant","message":{"content":[{"text":"429 rate limit exceeded"}]}}',
         "progress"),
        ('{"type":"tool_use","part":{"output":"rate limit exceeded"}}', "progress"),
        ("INFO the tests cover rate limit exceeded", ""),
        ('{"type":"system","subtype":"api_retry","error_status":529,"error":"overloaded"}', ""),
    ],
)
def test_live_evidence_of_each_agent(line: str, kind: str) -> None:
    assert live_evidence(line)[0] == kind


def _sleeper(tmp_path: Path, lines: list[str]) -> tuple[Path, subprocess.Popen[bytes]]:
    """A process that prints `lines` into its log, then waits to be stopped."""
    log = tmp_path / "agent.log"
    script = "; ".join(f"print({line!r}, flush=True); time.sleep(0.05)" for line in lines)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", f"import time; {script}; time.sleep(60)"],
            stdout=out, start_new_session=True,
        )
    return log, proc


def _wait_lines(log: Path, count: int) -> None:
    """Until the sleeper has printed its `count` lines (starting Python may take a while)."""
    wait_for(lambda: log.read_bytes().count(b"\n") >= count, what=f"{count} lines in {log}")


def test_three_retries_stop_the_agent_and_progress_resets_the_count(tmp_path: Path) -> None:
    assistant = '{"type":"assistant","message":{"content":[]}}'
    log, proc = _sleeper(tmp_path, [CLAUDE_RETRY, CLAUDE_RETRY, assistant, CLAUDE_RETRY])
    watch = LimitWatch(log, RateLimitRules(switch_after_retries=3))
    _wait_lines(log, 4)
    assert watch.check(proc.pid, now=time.time()) == "" and proc.poll() is None
    with open(log, "a") as more:
        # Two more retries in a row, and half a line that does not count yet.
        more.write(CLAUDE_RETRY + "\n" + CLAUDE_RETRY + "\n" + CLAUDE_RETRY[:40])
    verdict = watch.check(proc.pid, now=time.time())
    assert verdict == "live output: error: rate_limit (3 retries seen)"
    assert proc.wait(timeout=10) != 0


def test_a_quota_stops_at_once_and_zero_turns_the_watch_off(tmp_path: Path) -> None:
    log, proc = _sleeper(tmp_path, [OPENCODE_QUOTA])
    _wait_lines(log, 1)
    assert LimitWatch(log, RateLimitRules(switch_after_retries=0)).check(proc.pid, now=0) == ""
    verdict = LimitWatch(log, RateLimitRules()).check(proc.pid, now=time.time())
    assert "You exceeded your current quota" in verdict
    assert proc.wait(timeout=10) != 0


@pytest.mark.slow
def test_an_agent_that_keeps_retrying_is_stopped_and_its_task_moves_on(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    """Before rate_limit_watch, this agent ran (and its task stood still) until killed by hand."""
    retrying = [sys.executable, "-c", f"import time\nwhile True: print({CLAUDE_RETRY!r}, "
                "flush=True); time.sleep(0.2)"]
    text = FAST_CONFIG.format(max_running=3, command=json.dumps(shlex.join([sys.executable,
                                                                               str(AGENT)])))
    text += (
        'profile = "first"\nfallback = ["second"]\n'
        f"[profiles.first]\ncommand = {json.dumps(retrying)}\n"
        f"[profiles.second]\ncommand = {json.dumps([sys.executable, str(AGENT)])}\n"
    )
    (worker_repo / ".worker.toml").write_text(text)
    git(worker_repo, "add", ".worker.toml")
    git(worker_repo, "commit", "-q", "-m", "profiles")
    add(conn, "t1")
    config = load_config(ctx.config_path)
    start_task(ctx, conn, config, "t1")
    wait_state(conn, "t1", "queued", timeout=30)
    # The next profile waits for no backoff, only for the stopped attempt to finish exiting.
    wait_for(lambda: bool(tick(ctx, conn, config).started), timeout=15, what="a tick to start it")
    wait_state(conn, "t1", "in_review")
    (row,) = task_statuses(ctx, conn, "t1", with_git=False)
    first = row.attempts[0]
    assert (first["profile"], first["outcome"]) == ("first", "rate_limited")
    assert str(first["detail"]).startswith("live output: error: rate_limit")
    seen = [e for e in read_events(conn, task_id="t1") if e.kind == "rate_limit_seen"]
    assert len(seen) == 1 and seen[0].attempt == 1
