"""Runtime profiles and fallback: which profile an attempt runs, and re-queueing after a limit.

A task's profile chain is its own (`worker add --profile A --fallback B,C`) or the global
one (`profile` and `fallback` in `.worker.toml`). Each attempt records the profile it ran,
its environment and the rate-limit rules in `attempt_runtime`, decided at admission, so the
supervisor needs no config. When an attempt ends rate-limited, the task goes back to
`queued` on the next profile, startable at once; after the last profile it starts over at
the first one, after a wait that grows each round (it never fails for a rate limit).
"""

from __future__ import annotations

import json
import os
import sqlite3
import string
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_skills.errors import UsageError
from ai_skills.worker.errors import ConfigError
from ai_skills.worker.ratelimit import RateLimitRules, backoff_delay, classify, read_tail
from ai_skills.worker.runtimes import PRESETS, split_command
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import append_event
from ai_skills.worker.tasks import Task, get_attempt, transition

if TYPE_CHECKING:
    from ai_skills.worker.config import WorkerConfig
    from ai_skills.worker.profile_config import ProfileConfig

RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class AttemptRuntime:
    """What an admitted attempt runs with, beyond its argv."""

    profile: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    rules: RateLimitRules = field(default_factory=RateLimitRules)
    containment: str = "needs_human"
    chain: list[str] = field(default_factory=list)
    position: int = 0
    # sandbox.py: "bwrap" or "none" (attempts from before the sandbox ran without one).
    sandbox: str = "none"
    sandbox_state: list[str] = field(default_factory=list)
    sandbox_writable: list[str] = field(default_factory=list)

    def policy(self) -> dict[str, Any]:
        """The JSON stored with the attempt for the supervisor."""
        return {
            "rate_limit": self.rules.as_dict(),
            "containment": self.containment,
            "chain": self.chain,
            "position": self.position,
            "sandbox": self.sandbox,
            "sandbox_state": self.sandbox_state,
            "sandbox_writable": self.sandbox_writable,
        }


@dataclass(frozen=True)
class ProfileChoice:
    """The profile (if any) the next attempt of a task runs, and its command."""

    argv: list[str] | None
    runtime: AttemptRuntime


@dataclass(frozen=True)
class AttemptProfile:
    """One attempt as `worker status` shows it: which profile ran and how it ended."""

    number: int
    attempt_id: int
    profile: str | None
    exit_code: int | None
    outcome: str | None
    detail: str
    started_at: float
    ended_at: float | None

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return asdict(self)


def profile_command(profile: ProfileConfig) -> list[str]:
    """The argv of a profile: preset or command, then args, then the model flag."""
    if profile.runtime is not None:
        argv = list(PRESETS[profile.runtime])
    else:
        assert profile.command is not None
        argv = split_command(profile.command)
    argv += profile.args
    if profile.model:
        argv += [profile.model_flag, profile.model]
    return argv


def profile_env(profile: ProfileConfig) -> dict[str, str]:
    """A profile's environment as configured (${NAME} is expanded later, by the supervisor)."""
    env = dict(profile.env)
    if profile.model:
        env.setdefault("WORKER_MODEL", profile.model)
    return env


def expand_env(env: dict[str, str], source: dict[str, str]) -> dict[str, str]:
    """`${NAME}` in values replaced from `source`; unknown names stay as written."""
    return {k: string.Template(v).safe_substitute(source) for k, v in env.items()}


def set_task_profiles(
    conn: sqlite3.Connection, task_id: str, *, profile: str | None, fallback: list[str]
) -> None:
    """Remember a task's own profile chain (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO task_profiles (task_id, profile, fallback) VALUES (?, ?, ?)"
        " ON CONFLICT (task_id) DO UPDATE SET profile = excluded.profile,"
        " fallback = excluded.fallback",
        (task_id, profile, json.dumps(fallback)),
    )


def _task_row(conn: sqlite3.Connection, task_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM task_profiles WHERE task_id = ?", (task_id,)).fetchone()


def task_chain(conn: sqlite3.Connection, task: Task, config: WorkerConfig) -> list[str]:
    """The task's profiles in order: its own, else none if it names a runtime, else global."""
    row = _task_row(conn, task.id)
    own = [row["profile"], *json.loads(row["fallback"])] if row else []
    if any(own):
        return _dedupe(own)
    if task.runtime or task.runtime_command:
        return []
    return _dedupe([config.profile, *config.fallback])


def _dedupe(names: list[str | None]) -> list[str]:
    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(name)
    return seen


def choose(
    conn: sqlite3.Connection, task: Task, config: WorkerConfig, *, explicit: bool = False
) -> ProfileChoice:
    """The profile for the task's next attempt (argv None: no profile, use the runtime).

    `explicit`: `start` was given a runtime of its own, which wins over every profile.
    """
    rules = RateLimitRules(
        exit_codes=list(config.rate_limit.exit_codes),
        patterns=list(config.rate_limit.patterns),
        backoff_seconds=config.rate_limit.backoff_seconds,
        backoff_max_seconds=config.rate_limit.backoff_max_seconds,
        tail_bytes=config.rate_limit.tail_bytes,
        switch_after_retries=config.rate_limit.switch_after_retries,
    )
    chain = [] if explicit else task_chain(conn, task, config)
    if not chain:
        return ProfileChoice(None, AttemptRuntime(rules=rules, containment=config.containment))
    row = _task_row(conn, task.id)
    position = int(row["position"]) % len(chain) if row else 0
    name = chain[position]
    if name not in config.profiles:
        raise ConfigError(
            path=".worker.toml",
            detail=f"task {task.id!r} names profile {name!r}, which is not defined; "
            f"add [profiles.{name}]",
        )
    profile = config.profiles[name]
    rules = replace(
        rules,
        exit_codes=[*rules.exit_codes, *profile.rate_limit_exit_codes],
        patterns=[*rules.patterns, *profile.rate_limit_patterns],
    )
    runtime = AttemptRuntime(
        name, profile_env(profile), rules, config.containment, chain=chain, position=position
    )
    return ProfileChoice(profile_command(profile), runtime)


def record_attempt_runtime(
    conn: sqlite3.Connection, attempt_id: int, runtime: AttemptRuntime
) -> None:
    """Store what an attempt runs with (inside the admission transaction)."""
    conn.execute(
        "INSERT OR REPLACE INTO attempt_runtime (attempt_id, profile, env, policy)"
        " VALUES (?, ?, ?, ?)",
        (attempt_id, runtime.profile, json.dumps(runtime.env), json.dumps(runtime.policy())),
    )


def attempt_runtime(conn: sqlite3.Connection, attempt_id: int) -> AttemptRuntime:
    """What an attempt was admitted with (defaults for attempts from before profiles)."""
    row = conn.execute(
        "SELECT * FROM attempt_runtime WHERE attempt_id = ?", (attempt_id,)
    ).fetchone()
    if row is None:
        return AttemptRuntime()
    policy = json.loads(row["policy"])
    return AttemptRuntime(
        profile=row["profile"],
        env=dict(json.loads(row["env"])),
        rules=RateLimitRules(**policy.get("rate_limit", {})),
        containment=str(policy.get("containment", "needs_human")),
        chain=list(policy.get("chain", [])),
        position=int(policy.get("position", 0)),
        sandbox=str(policy.get("sandbox", "none")),
        sandbox_state=list(policy.get("sandbox_state", [])),
        sandbox_writable=list(policy.get("sandbox_writable", [])),
    )


def agent_extra_env(conn: sqlite3.Connection, attempt_id: int) -> dict[str, str]:
    """The profile's environment for the agent, `${NAME}` expanded from ours."""
    runtime = attempt_runtime(conn, attempt_id)
    env = expand_env(runtime.env, dict(os.environ))
    if runtime.profile:
        env["WORKER_PROFILE"] = runtime.profile
    return env


def retry_wait(conn: sqlite3.Connection, task_id: str, *, now: float) -> str:
    """Why a rate-limited task may not start yet ("" once its retry time has come)."""
    row = _task_row(conn, task_id)
    if row is None or row["not_before"] is None or now >= float(row["not_before"]):
        return ""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(row["not_before"])))
    last = conn.execute(
        "SELECT id FROM attempts WHERE task_id = ? ORDER BY number DESC LIMIT 1", (task_id,)
    ).fetchone()
    chain = attempt_runtime(conn, int(last[0])).chain if last else []
    on = f" on profile {chain[int(row['position']) % len(chain)]!r}" if chain else ""
    return f"rate limited: next retry at {when}{on}"


def rate_limit_verdict(conn: sqlite3.Connection, attempt_id: int, exit_code: int) -> str:
    """Why the attempt's end is a rate limit, or "" (reads the end of its log)."""
    attempt = get_attempt(conn, attempt_id)
    if attempt is None:
        return ""
    rules = attempt_runtime(conn, attempt_id).rules
    return classify(exit_code, read_tail(Path(attempt.log_file), limit=rules.tail_bytes), rules)


def record_outcome(conn: sqlite3.Connection, attempt_id: int, outcome: str, detail: str) -> None:
    """Remember how an attempt ended (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO attempt_runtime (attempt_id, outcome, detail) VALUES (?, ?, ?)"
        " ON CONFLICT (attempt_id) DO UPDATE SET outcome = excluded.outcome,"
        " detail = excluded.detail",
        (attempt_id, outcome, detail),
    )


def requeue_rate_limited(
    conn: sqlite3.Connection, task: Task, attempt_id: int, why: str, *, now: float
) -> Task:
    """Send a rate-limited task back to `queued` on its next profile, with a retry time."""
    runtime = attempt_runtime(conn, attempt_id)
    chain = runtime.chain
    row = _task_row(conn, task.id)
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
    conn.execute(
        "INSERT INTO task_profiles (task_id, position, rate_limits, not_before) VALUES"
        " (?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET position = excluded.position,"
        " rate_limits = excluded.rate_limits, not_before = excluded.not_before",
        (task.id, position, count, retry_at),
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
    conn.execute(
        "UPDATE tasks SET start_requested = 1, waiting_reason = ? WHERE id = ?", (reason, task.id)
    )
    return task


def clear_rate_limits(conn: sqlite3.Connection, task_id: str) -> None:
    """An attempt ended for another reason: the next limit starts the backoff afresh."""
    conn.execute(
        "UPDATE task_profiles SET rate_limits = 0, not_before = NULL WHERE task_id = ?", (task_id,)
    )


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


def attempt_profiles(
    conn: sqlite3.Connection, task_id: str | None = None
) -> dict[str, list[AttemptProfile]]:
    """Every attempt (of one task, or of all) with the profile it ran and how it ended,
    by task, oldest first: one query, whatever the number of tasks `status` shows."""
    rows = conn.execute(
        "SELECT a.task_id, a.id, a.number, a.exit_code, a.started_at, a.ended_at,"
        " r.profile, r.outcome, r.detail"
        " FROM attempts a LEFT JOIN attempt_runtime r ON r.attempt_id = a.id"
        " WHERE ?1 IS NULL OR a.task_id = ?1 ORDER BY a.task_id, a.number",
        (task_id,),
    ).fetchall()
    found: dict[str, list[AttemptProfile]] = {}
    for r in rows:
        found.setdefault(r["task_id"], []).append(
            AttemptProfile(
                number=int(r["number"]),
                attempt_id=int(r["id"]),
                profile=r["profile"],
                exit_code=r["exit_code"],
                outcome=r["outcome"],
                detail=r["detail"] or "",
                started_at=float(r["started_at"]),
                ended_at=r["ended_at"],
            )
        )
    return found


def check_profile_names(config: WorkerConfig, names: list[str]) -> None:
    """Refuse a profile name `.worker.toml` does not define (UsageError naming the known ones)."""
    for name in names:
        if name not in config.profiles:
            known = ", ".join(config.profiles) or "none; define [profiles.NAME] in .worker.toml"
            raise UsageError(f"unknown profile {name!r} (profiles: {known})")


def split_names(text: str | None) -> list[str]:
    """`A,B` (or `A B`) as a list of names."""
    return [n for n in (text or "").replace(",", " ").split() if n]


@dataclass(frozen=True)
class ProfileView:
    """One profile as `worker profiles` lists it (environment names only: values are secrets)."""

    name: str
    command: list[str]
    model: str | None
    env: list[str]
    order: int | None  # place in the global chain, None when only tasks name it

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return asdict(self)


def describe_profiles(config: WorkerConfig) -> list[ProfileView]:
    """Every configured profile, those of the global chain first, in chain order."""
    chain = _dedupe([config.profile, *config.fallback])
    views = [
        ProfileView(
            name=name,
            command=profile_command(profile),
            model=profile.model,
            env=sorted(profile.env),
            order=chain.index(name) if name in chain else None,
        )
        for name, profile in config.profiles.items()
    ]
    return sorted(views, key=lambda v: (v.order is None, v.order or 0, v.name))
