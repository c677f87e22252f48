"""Runtime profiles: which profile an attempt runs (re-queueing after a limit: fallback.py).

A task's profile chain is its own (`worker add --profile A --fallback B,C`) or the global
one (`profile` and `fallback` in `.worker.toml`). Each attempt records the profile it ran,
its environment and the rate-limit rules in `attempt_runtime`, decided at admission, so the
supervisor needs no config.
"""

from __future__ import annotations

import json
import os
import sqlite3
import string
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ai_skills.errors import UsageError
from ai_skills.worker.errors import ConfigError
from ai_skills.worker.ratelimit import RateLimitRules
from ai_skills.worker.runtimes import PRESETS, split_command
from ai_skills.worker.tasks import Task

if TYPE_CHECKING:
    from ai_skills.worker.config import WorkerConfig
    from ai_skills.worker.profile_config import ProfileConfig



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
        return dict(vars(self))  # flat: no need for the deep copy of dataclasses.asdict


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


def task_profile_row(conn: sqlite3.Connection, task_id: str) -> sqlite3.Row | None:
    """The task's own profile chain and where it is on it (`task_profiles`), if any."""
    return conn.execute("SELECT * FROM task_profiles WHERE task_id = ?", (task_id,)).fetchone()


def task_chain(conn: sqlite3.Connection, task: Task, config: WorkerConfig) -> list[str]:
    """The task's profiles in order: its own, else none if it names a runtime, else global."""
    row = task_profile_row(conn, task.id)
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
    row = task_profile_row(conn, task.id)
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


def attempt_profiles(
    conn: sqlite3.Connection, task_ids: list[str]
) -> dict[str, list[AttemptProfile]]:
    """Every attempt of these tasks with the profile it ran and how it ended, by task,
    oldest first: one query, whatever the number of tasks `status` shows."""
    rows = conn.execute(
        "SELECT a.task_id, a.id, a.number, a.exit_code, a.started_at, a.ended_at,"
        " r.profile, r.outcome, r.detail"
        " FROM attempts a LEFT JOIN attempt_runtime r ON r.attempt_id = a.id"
        " WHERE a.task_id IN (SELECT value FROM json_each(?)) ORDER BY a.task_id, a.number",
        (json.dumps(task_ids),),
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
