"""`.worker.toml` sections for runtime profiles, rate limits and roles (pydantic models).

Kept apart from `config.py` so the settings of this feature read as one unit; `WorkerConfig`
only names them.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ai_skills.worker.runtimes import PRESETS


class ProfileConfig(BaseModel):
    """`[profiles.NAME]`: one way to run an agent (a provider, an account, a model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime: str | None = Field(default=None, description="preset: claude, codex or opencode")
    command: str | list[str] | None = Field(
        default=None, description="any agent command (shell-split when a string)"
    )
    args: list[str] = Field(default_factory=list, description="arguments appended to the command")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="environment of the agent; ${NAME} is taken from the supervisor's environment",
    )
    model: str | None = Field(default=None, description="passed as MODEL_FLAG MODEL")
    model_flag: str = Field(default="--model", description="the flag that names the model")
    rate_limit_exit_codes: list[int] = Field(
        default_factory=list, description="exit codes that mean 'rate-limited' for this profile"
    )
    rate_limit_patterns: list[str] = Field(
        default_factory=list, description="regexes on the agent's output that mean 'rate-limited'"
    )

    _patterns = field_validator("rate_limit_patterns")(lambda v: _compiles(v))

    @model_validator(mode="after")
    def _one_program(self) -> ProfileConfig:
        if (self.runtime is None) == (self.command is None):
            raise ValueError("give exactly one of `runtime` (a preset) or `command`")
        if self.runtime is not None and self.runtime not in PRESETS:
            raise ValueError(f"unknown runtime {self.runtime!r}; use one of {', '.join(PRESETS)}")
        return self


class RateLimitConfig(BaseModel):
    """`[rate_limit]`: what counts as a quota or rate-limit outcome, and how long to back off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exit_codes: list[int] = Field(
        default_factory=list, description="exit codes that mean 'rate-limited' for every profile"
    )
    patterns: list[str] = Field(
        default_factory=list, description="regexes on the agent's output, for every profile"
    )
    backoff_seconds: float = Field(default=30.0, ge=0, description="first wait before a retry")
    backoff_max_seconds: float = Field(default=1800.0, ge=0, description="the longest wait")
    _patterns = field_validator("patterns")(lambda v: _compiles(v))
    tail_bytes: int = Field(
        default=65536, ge=1024, description="how much of the end of the agent log is examined"
    )
    switch_after_retries: int = Field(
        default=3,
        ge=0,
        description="stop an agent after this many of its own retries on a rate limit, and "
        "move on to the next profile (0: wait for the agent to give up)",
    )


def _compiles(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
    return patterns
