"""Fallback after a rate limit: the verdict on an attempt's end, and re-queueing its task.

When an attempt ends rate-limited, the task goes back to `queued` on the next profile of
its chain (profiles.py), startable at once; after the last profile it starts over at the
first one, after a wait that grows each round (it never fails for a rate limit).
"""

from __future__ import annotations

import time
from pathlib import Path

from ai_skills.worker.run.profiles import attempt_runtime
from ai_skills.worker.run.rate_limit import backoff_delay, classify, read_tail
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event
from ai_skills.worker.store import profiles as profile_rows
from ai_skills.worker.store.attempts import latest_attempt_id
from ai_skills.worker.store.profiles import task_profile_row
from ai_skills.worker.store.tasks import request_start
from ai_skills.worker.tasks import Task, get_attempt, transition

RATE_LIMITED = "rate_limited"


def retry_wait(conn: Db, task_id: str, *, now: float) -> str:
    """Why a rate-limited task may not start yet ("" once its retry time has come)."""
    row = task_profile_row(conn, task_id)
    if row is None or row["not_before"] is None or now >= float(row["not_before"]):
        return ""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(row["not_before"])))
    last = latest_attempt_id(conn, task_id)
    chain = attempt_runtime(conn, last).chain if last is not None else []
    on = f" on profile {chain[int(row['position']) % len(chain)]!r}" if chain else ""
    return f"rate limited: next retry at {when}{on}"


def rate_limit_verdict(conn: Db, attempt_id: int, exit_code: int) -> str:
    """Why the attempt's end is a rate limit, or "" (reads the end of its log)."""
    attempt = get_attempt(conn, attempt_id)
    if attempt is None:
        return ""
    rules = attempt_runtime(conn, attempt_id).rules
    return classify(exit_code, read_tail(Path(attempt.log_file), limit=rules.tail_bytes), rules)


def record_outcome(conn: Db, attempt_id: int, outcome: str, detail: str) -> None:
    """Remember how an attempt ended (inside the caller's transaction)."""
    profile_rows.record_outcome(conn, attempt_id, outcome, detail)


def requeue_rate_limited(
    conn: Db, task: Task, attempt_id: int, why: str, *, now: float
) -> Task:
    """Send a rate-limited task back to `queued` on its next profile, with a retry time."""
    runtime = attempt_runtime(conn, attempt_id)
    chain = runtime.chain
    row = task_profile_row(conn, task.id)
    count = (int(row["rate_limits"]) if row else 0) + 1
    position = runtime.position + 1
    exhausted = position >= len(chain)
    position = 0 if exhausted else position
    # A limit on one profile says nothing about the next one: move on at once. Only going
    # round to the first profile again waits (and each further round waits longer).
    delay = backoff_delay(count, runtime.rules, chain_length=len(chain)) if exhausted else 0.0
    retry_at = now + delay
    nxt = chain[position] if chain else None
    reason = _requeue_reason(runtime.profile, why, nxt, exhausted, len(chain), retry_at)
    profile_rows.set_chain_position(
        conn, task.id, position=position, rate_limits=count, not_before=retry_at
    )
    record_outcome(conn, attempt_id, RATE_LIMITED, why)
    data = {
        "profile": runtime.profile,
        "next_profile": nxt,
        "retry_at": retry_at,
        "delay": delay,
        "exhausted": exhausted,
        "evidence": why,
    }
    append_event(
        conn, kind=RATE_LIMITED, task_id=task.id, attempt_id=attempt_id, data=data, now=now
    )
    task = transition(
        conn, task, TaskState.QUEUED, action="rate limit", reason=reason, data=data, now=now
    )
    request_start(conn, task.id, reason)
    return task


def clear_rate_limits(conn: Db, task_id: str) -> None:
    """An attempt ended for another reason: the next limit starts the backoff afresh."""
    profile_rows.clear_rate_limits(conn, task_id)


def _requeue_reason(
    profile: str | None, why: str, nxt: str | None, exhausted: bool, count: int, at: float
) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
    ran = f"profile {profile!r}" if profile else "the agent"
    head = f"rate limited on {ran} ({why})"
    if nxt is None:
        return f"{head}; retry at {when}"
    if not exhausted:
        return f"{head}; next: profile {nxt!r}, now"
    tried = f"all {count} profiles are limited" if count > 1 else "no other profile to try"
    return f"{head}; {tried}; retry on {nxt!r} at {when}"
