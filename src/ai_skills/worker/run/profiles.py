"""Runtime profiles: which profile an attempt runs (re-queueing after a limit:
rate_limit_fallback.py).

A task's profile chain is its own (`worker add --profile A --fallback B,C`) or the global
one (`profile` and `fallback` in `.worker.toml`). Each attempt records the profile it ran,
its environment and the rate-limit rules in `attempt_runtime`, decided at admission, so the
supervisor needs no config.
"""

from __future__ import annotations

import json
import os
import string
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ai_skills.worker.errors import ConfigError
from ai_skills.worker.run.rate_limit import RateLimitRules
from ai_skills.worker.runtimes import PRESETS, split_command
from ai_skills.worker.store import Db
from ai_skills.worker.store import profiles as profile_rows

if TYPE_CHECKING:
    from ai_skills.worker.config import WorkerConfig
    from ai_skills.worker.config_profiles import ProfileConfig
    from ai_skills.worker.tasks import Task

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


def task_chain(conn: Db, task: Task, config: WorkerConfig) -> list[str]:
    """The task's profiles in order: its own, else none if it names a runtime, else global."""
    row = profile_rows.task_profile_row(conn, task.id)
    own = [row["profile"], *json.loads(row["fallback"])] if row else []
    if any(own):
        return dedupe(own)
    if task.runtime or task.runtime_command:
        return []
    return dedupe([config.profile, *config.fallback])


def dedupe(names: list[str | None]) -> list[str]:
    """The names in order, each once, blanks dropped."""
    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(name)
    return seen


def choose(
    conn: Db, task: Task, config: WorkerConfig, *, explicit: bool = False
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
    row = profile_rows.task_profile_row(conn, task.id)
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
    conn: Db, attempt_id: int, runtime: AttemptRuntime
) -> None:
    """Store what an attempt runs with (inside the admission transaction)."""
    profile_rows.record_attempt_runtime(
        conn,
        attempt_id,
        profile=runtime.profile,
        env=json.dumps(runtime.env),
        policy=json.dumps(runtime.policy()),
    )


def attempt_runtime(conn: Db, attempt_id: int) -> AttemptRuntime:
    """What an attempt was admitted with (defaults for attempts from before profiles)."""
    row = profile_rows.attempt_runtime_row(conn, attempt_id)
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


def agent_extra_env(conn: Db, attempt_id: int) -> dict[str, str]:
    """The profile's environment for the agent, `${NAME}` expanded from ours."""
    runtime = attempt_runtime(conn, attempt_id)
    env = expand_env(runtime.env, dict(os.environ))
    if runtime.profile:
        env["WORKER_PROFILE"] = runtime.profile
    return env
