"""The lock file's JSON schema, checked with pydantic when a lock is read back.

Kept apart from `lock` so that runs which never read a lock (a first `add`) do not pay
for importing pydantic.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class LockedSkillModel(BaseModel):
    """One pinned skill as stored."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    ref: str | None = None
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    path: str
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    agents: list[str] | None = None


class LockFileModel(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    version: StrictInt  # "1" (a string) is not a version this tool wrote
    skills: dict[str, LockedSkillModel] = Field(default_factory=dict)
