"""The lock file: what each installed skill is pinned to, per scope.

Repo scope: `REPO/ai-skills.lock.json` (commit it). User scope:
`$XDG_CONFIG_HOME/ai-skills/lock.json`. JSON read back is validated with pydantic; inside,
the entries are named tuples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ai_skills.errors import AiSkillsError
from ai_skills.install.git_values import FULL_SHA, ref_problem, shown, subpath_problem, url_problem
from ai_skills.util.fs import atomic_write_text
from ai_skills.util.schema_errors import first_problem
from ai_skills.util.textfiles import read_json

LOCK_VERSION = 1
_RESTORE = "restore it from git or remove it and add the skills again"


class LockFileError(AiSkillsError):
    """A lock file cannot be read."""


class LockedSkill(NamedTuple):
    """One pinned skill: where from, which commit, which folder, and its content hash."""

    source: str  # git URL the skill was fetched from
    commit: str  # resolved commit SHA (40 hex)
    path: str  # folder of the skill inside the source ('' = the top)
    hash: str  # `sha256:...` over the installed folder, see contenthash.py
    ref: str | None = None  # branch, tag or commit asked for (None: the remote HEAD)
    agents: tuple[str, ...] | None = None  # user scope only: agents it is linked for

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (absent optional fields left out)."""
        data = self._asdict()
        if self.agents is not None:
            data["agents"] = list(self.agents)
        return {key: value for key, value in data.items() if value is not None}


def read_lock(path: Path) -> dict[str, LockedSkill]:
    """Name -> pinned skill; a missing file is an empty lock; every value checked."""
    try:
        data = read_json(path, error=LockFileError, fix=_RESTORE)
    except FileNotFoundError:
        return {}
    skills = _plain_lock(data)
    if skills is None:
        skills = _validated_lock(path, data)
    for name, entry in skills.items():
        problem = entry_problem(name, entry)
        if problem is not None:
            raise LockFileError(f"{path}: {problem}; {_RESTORE}")
    return skills


# (field, its value or None, the check of a value, what the value must be)
FieldCheck = tuple[str, str | None, Callable[[str], str | None], str]


def named_entry_problem(name: str, checks: Sequence[FieldCheck]) -> str | None:
    """`skills: ...` when `name` is no skill name, else `skills.NAME.FIELD: ...` for the
    first value (not None) its check refuses; None when all pass. For every lock format."""
    from ai_skills.skills.validation import name_error

    reason = name_error(name)
    if reason is not None:
        return f"skills: {shown(name)} is not a skill name ({reason})"
    for field_name, value, check, what in checks:
        problem = check(value) if value is not None else None
        if problem is not None:
            return f"skills.{name}.{field_name}: {shown(value or '')} is not {what} ({problem})"
    return None


def entry_problem(name: str, entry: LockedSkill) -> str | None:
    """`skills.NAME.FIELD: why` for the first value that may not reach git or a path."""
    from ai_skills.deploy.agents import table

    problem = named_entry_problem(name, [
        ("source", entry.source, url_problem, "a git URL"),
        ("path", entry.path, subpath_problem, "a folder inside the source"),
        ("ref", entry.ref, ref_problem, "a git ref"),
    ])
    if problem is not None:
        return problem
    unknown = [a for a in entry.agents or () if table().find(a) is None]
    if unknown:
        return (f"skills.{name}.agents: unknown agent {shown(unknown[0])} "
                "(`ai-skills agents` lists the known ones)")
    return None


def _validated_lock(path: Path, data: Any) -> dict[str, LockedSkill]:
    """The lock as pydantic reads it (any shape our fast reader does not take)."""
    from pydantic import ValidationError

    from ai_skills.install.lock_schema import LockFileModel

    version = data.get("version") if isinstance(data, dict) else None
    if version is not None and type(version) is not int:
        raise LockFileError(f"{path}: version: {version!r} is not a lock file version "
                            f"(this ai-skills writes the number {LOCK_VERSION}); {_RESTORE}")
    try:
        lock = LockFileModel.model_validate(data)
    except ValidationError as exc:
        where, problem = first_problem(exc)
        raise LockFileError(
            f"{path}: not a valid ai-skills lock file ({where}: {problem}); {_RESTORE}"
        ) from None
    if lock.version != LOCK_VERSION:
        raise LockFileError(
            f"{path}: lock file version {lock.version} is not supported "
            f"(this ai-skills writes {LOCK_VERSION}); upgrade ai-skills"
        )
    return {
        name: LockedSkill(
            source=e.source, commit=e.commit, path=e.path, hash=e.hash, ref=e.ref,
            agents=tuple(e.agents) if e.agents is not None else None,
        )
        for name, e in lock.skills.items()
    }


_FIELDS = {"source": str, "commit": str, "path": str, "hash": str, "ref": str, "agents": list}
_REQUIRED = frozenset({"source", "commit", "path", "hash"})
_HASH = re.compile(r"sha256:[0-9a-f]{64}")


def _plain_lock(data: Any) -> dict[str, LockedSkill] | None:
    """The lock when it is exactly in the shape we write, else None (pydantic then judges).

    Importing pydantic costs more than a whole no-op `ai-skills install`, so a lock that
    passes these strict checks (a subset of what `lock_schema` accepts) skips it.
    """
    if not isinstance(data, dict) or set(data) != {"version", "skills"}:
        return None
    if type(data["version"]) is not int or data["version"] != LOCK_VERSION:
        return None
    if not isinstance(data["skills"], dict):
        return None
    skills = {}
    for name, entry in data["skills"].items():
        if not isinstance(entry, dict) or not _REQUIRED <= set(entry) <= set(_FIELDS):
            return None
        if any(type(value) is not _FIELDS[key] for key, value in entry.items()):
            return None
        agents = entry.get("agents")
        if agents is not None and not all(type(a) is str for a in agents):
            return None
        if not FULL_SHA.fullmatch(entry["commit"]) or not _HASH.fullmatch(entry["hash"]):
            return None
        if not entry["source"]:
            return None
        skills[name] = LockedSkill(
            source=entry["source"], commit=entry["commit"], path=entry["path"],
            hash=entry["hash"], ref=entry.get("ref"),
            agents=tuple(agents) if agents is not None else None,
        )
    return skills


def lock_text(skills: dict[str, LockedSkill]) -> str:
    """Stable JSON text (sorted names and keys, two-space indent, trailing newline)."""
    data = {
        "version": LOCK_VERSION,
        "skills": {name: skills[name].as_dict() for name in sorted(skills)},
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_lock(path: Path, skills: dict[str, LockedSkill]) -> None:
    """Replace the lock file atomically (only when its text changes)."""
    text = lock_text(skills)
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, ValueError):
        pass
    atomic_write_text(path, text)
