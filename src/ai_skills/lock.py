"""The lock file: what each installed skill is pinned to, per scope.

Repo scope: `REPO/ai-skills.lock.json` (commit it). User scope:
`$XDG_CONFIG_HOME/ai-skills/lock.json`. JSON read back is validated with pydantic; inside,
the entries are frozen pydantic models.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ai_skills.errors import AiSkillsError
from ai_skills.fsutil import atomic_write_text

LOCK_VERSION = 1
REPO_LOCK_FILE = "ai-skills.lock.json"


class LockFileError(AiSkillsError):
    """A lock file cannot be read."""


class LockedSkill(BaseModel):
    """One pinned skill: where from, which commit, which folder, and its content hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="git URL the skill was fetched from")
    ref: str | None = Field(default=None, description="branch, tag or commit asked for")
    commit: str = Field(pattern=r"^[0-9a-f]{40}$", description="resolved commit SHA")
    path: str = Field(description="folder of the skill inside the source ('' = top)")
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="see contenthash.py")
    agents: list[str] | None = Field(
        default=None, description="user scope only: agents the skill is linked for"
    )


class LockFile(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    version: int = LOCK_VERSION
    skills: dict[str, LockedSkill] = Field(default_factory=dict)


def read_lock(path: Path) -> dict[str, LockedSkill]:
    """Name -> pinned skill; a missing file is an empty lock."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise LockFileError(f"{path}: cannot read it ({exc.strerror})") from exc
    try:
        lock = LockFile.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LockFileError(
            f"{path}: not a valid ai-skills lock file ({where}: {first['msg']}); "
            "restore it from git or remove it and add the skills again"
        ) from None
    if lock.version != LOCK_VERSION:
        raise LockFileError(
            f"{path}: lock file version {lock.version} is not supported "
            f"(this ai-skills writes {LOCK_VERSION}); upgrade ai-skills"
        )
    return dict(lock.skills)


def lock_text(skills: dict[str, LockedSkill]) -> str:
    """Stable JSON text (sorted names, two-space indent, trailing newline)."""
    data = {
        "version": LOCK_VERSION,
        "skills": {
            name: skills[name].model_dump(exclude_none=True) for name in sorted(skills)
        },
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_lock(path: Path, skills: dict[str, LockedSkill]) -> None:
    """Replace the lock file atomically (only when its text changes)."""
    text = lock_text(skills)
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    atomic_write_text(path, text)
