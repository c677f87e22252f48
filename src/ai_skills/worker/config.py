"""`.worker.toml` at the repository root, validated with pydantic (a trust boundary).

Imported only by commands that need settings: `worker report` and `status` skip the
pydantic import (about 100 ms of start-up).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ai_skills.util.schema_errors import all_problems
from ai_skills.worker.config_profiles import ProfileConfig, RateLimitConfig
from ai_skills.worker.errors import ConfigError

# `**/` also matches at the top level (see policy.path_matches).
REMOTE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")

DEFAULT_SENSITIVE = (
    "**/auth/**",
    "**/security/**",
    "**/migrations/**",
    ".github/**",
    ".gitlab-ci.yml",
    ".ci/**",
)


class GatesConfig(BaseModel):
    """`[gates]`: name = command (a string runs through `sh -c`, a list is an argv)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(
        default=900.0, gt=0, description="a gate running longer is stopped and fails"
    )
    commands: dict[str, str | list[str]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split_commands(cls, raw: Any) -> Any:
        # Gate names sit directly in the table (`test = "pytest"`); the one number is ours.
        if not isinstance(raw, dict) or "commands" in raw:
            return raw
        rest = {k: v for k, v in raw.items() if k != "timeout_seconds"}
        out: dict[str, Any] = {"commands": rest}
        if "timeout_seconds" in raw:
            out["timeout_seconds"] = raw["timeout_seconds"]
        return out


class PolicyConfig(BaseModel):
    """`[policy]`: when a task needs a human to approve it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitive_paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SENSITIVE),
        description="changed paths matching one of these globs need a human",
    )
    max_diff_lines: int = Field(default=1000, ge=1, description="more changed lines need a human")
    max_diff_files: int = Field(default=50, ge=1, description="more changed files need a human")
    max_change_requests: int = Field(
        default=2, ge=0, description="more change requests than this need a human"
    )
    # Scopes keep parallel tasks apart; a change outside them may collide with another
    # task's work, which a reviewer can judge, so by default they must say why it is fine.
    outside_scope: str = Field(
        default="reason",
        pattern="^(needs_human|reason|off)$",
        description="a change outside the task's declared scopes: needs_human, approval needs "
        "a --reason, or off",
    )


class WorkerConfig(BaseModel):
    """Every setting of `.worker.toml`; flags on the command line override them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_running: int = Field(default=3, ge=1, description="WIP limit: tasks running at once")
    runtime: str | None = Field(default=None, description="preset: claude, codex or opencode")
    runtime_command: str | list[str] | None = Field(
        default=None, description="generic agent command (shell-split when a string)"
    )
    # Runtime profiles, fallback and roles: see config_profiles.py and docs/worker.md.
    profile: str | None = Field(default=None, description="profile every task starts with")
    fallback: list[str] = Field(default_factory=list, description="profiles tried next, in order")
    profiles: dict[str, ProfileConfig] = Field(default_factory=dict)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    require_write_opt_in: bool = Field(
        default=False, description="scripts must set WORKER_ALLOW_WRITES=1 to change state"
    )
    containment: str = Field(
        default="needs_human",
        pattern="^(needs_human|report|off)$",
        description="what a change outside the task's worktree does to the task",
    )
    # sandbox.py and docs/worker.md "Containment": where bwrap is missing, `start` and
    # `doctor` say so and the checks without a sandbox apply.
    sandbox: str = Field(
        default="bwrap",
        pattern="^(bwrap|none)$",
        description="run each agent in a bubblewrap sandbox that can write only its workspace",
    )
    sandbox_state: list[str] = Field(
        default_factory=list,
        description="more folders the agent program writes, each replaced by a private copy "
        "per task (`~` and `$VAR` allowed)",
    )
    sandbox_writable: list[str] = Field(
        default_factory=list,
        description="folders the sandboxed agent may write as they are, shared with you",
    )
    integration_branch: str | None = Field(
        default=None, description="default base branch; a branch merged into it may be deleted"
    )
    heartbeat_seconds: float = Field(default=5.0, gt=0, description="supervisor lease renewal")
    lease_seconds: float = Field(default=30.0, gt=0, description="lease length")
    stall_after_seconds: float = Field(
        default=900.0, gt=0, description="no output or commit for this long means stalled"
    )
    cancel_grace_seconds: float = Field(default=10.0, ge=0, description="TERM before KILL")
    tick_seconds: float = Field(default=5.0, gt=0, description="daemon pass interval")
    autostart: bool = Field(
        default=True,
        description="`tick` and the daemon start queued tasks in priority order as slots free",
    )
    hook_command: str | list[str] | None = Field(
        default=None,
        description="run once per transition (by the daemon or a `worker watch`), event JSON "
        "on stdin; a string runs through `sh -c`",
    )
    worktree_dir: str | None = Field(
        default=None,
        description="where task workspaces go (default <repo>.worktrees beside the checkout)",
    )
    prompt_template: str | None = Field(
        default=None, description="jinja2 prompt template, relative to the repo root"
    )
    merge_strategy: str = Field(
        default="merge", pattern="^(merge|squash|rebase)$", description="default merge strategy"
    )
    # setting.py reads this key without pydantic, for the commands that start fast.
    store: str = Field(
        default="sqlite",
        description='"sqlite" (a file in the repository\'s git folder) or a postgresql:// URL '
        "without a password (docs/worker.md \"The store\"); WORKER_STORE overrides it",
    )
    # Several hosts (docs/worker.md "Several hosts"): the remote every host's clone shares.
    remote: str | None = Field(
        default=None,
        description="git remote shared by the hosts: each host pushes worker/ID there; review "
        "and merge fetch from it and push the integration branch back, never forced",
    )
    gates: GatesConfig = Field(default_factory=GatesConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)

    @field_validator("runtime_command")
    @classmethod
    def _not_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        # An empty command used to be skipped silently, running the default preset instead.
        if value is None:
            return value
        words = value.split() if isinstance(value, str) else value
        if not words or not words[0].strip():
            raise ValueError("is empty; give a program to run, or remove the setting")
        return value

    @field_validator("integration_branch")
    @classmethod
    def _branch_name(cls, value: str | None) -> str | None:
        # .worker.toml arrives in pull requests; its branch reaches git's command line.
        from ai_skills.install.git_values import ref_problem

        problem = None if value is None else ref_problem(value)
        if problem:
            raise ValueError(f"is not a branch name ({problem})")
        return value

    @field_validator("remote")
    @classmethod
    def _remote_name(cls, value: str | None) -> str | None:
        # Like the branch: it reaches git's command line from a file in a pull request.
        if value is not None and not REMOTE_NAME.fullmatch(value):
            raise ValueError(
                "is not a git remote name (letters, digits, '.', '_', '-'; not starting with '-')"
            )
        return value

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        from ai_skills.worker.store.setting import store_problem

        problem = store_problem(value, password_allowed=False)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _known_profiles(self) -> WorkerConfig:
        for name in [self.profile, *self.fallback]:
            if name is not None and name not in self.profiles:
                known = ", ".join(self.profiles) or "none defined"
                raise ValueError(f"unknown profile {name!r} (profiles: {known})")
        return self


def load_config(path: Path) -> WorkerConfig:
    """Read and validate `.worker.toml`; a missing file means all defaults."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return WorkerConfig()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path=str(path), detail=f"cannot read: {exc}") from exc
    try:
        return WorkerConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path=str(path), detail=all_problems(exc)) from exc
