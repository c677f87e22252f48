"""Read what `npx skills` (the `skills` npm CLI, 1.7.x) installed, and turn it into our pins.

Its project lock is `REPO/skills-lock.json` (version 1); its global lock is
`$XDG_STATE_HOME/skills/.skill-lock.json` when XDG_STATE_HOME is set, else
`~/.agents/.skill-lock.json` (version 3). Both map a skill name to `source`,
`sourceType` (`git`, `github`, `local`, ...), and usually `sourceUrl` and `skillPath`
(`skills/NAME/SKILL.md`). A local source may be relative to the lock file's folder.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ai_skills.errors import AiSkillsError
from ai_skills.install.git_values import ref_problem, subpath_problem, text_problem
from ai_skills.install.lock import named_entry_problem
from ai_skills.install.source_spec import SourceSpec, parse_source
from ai_skills.util.schema_errors import first_problem
from ai_skills.util.textfiles import read_json

PROJECT_LOCK = "skills-lock.json"
_IMPORTABLE = ("git", "github", "gitlab", "local")


class NpxLockError(AiSkillsError):
    """An `npx skills` lock file cannot be read."""


class _NpxEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str
    sourceType: str | None = None  # noqa: N815 (their field name)
    sourceUrl: str | None = None  # noqa: N815
    skillPath: str | None = None  # noqa: N815
    ref: str | None = None


class _NpxLock(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: int
    skills: dict[str, _NpxEntry] = {}


@dataclass(frozen=True)
class NpxSkill:
    """One skill recorded by `npx skills`."""

    name: str
    scope: str  # "project" or "global"
    source: str
    source_type: str
    source_url: str | None
    skill_path: str | None
    ref: str | None
    lock_file: Path


def global_lock_path(env: Mapping[str, str]) -> Path:
    """Where `npx skills -g` keeps its lock (it honours XDG_STATE_HOME)."""
    state = env.get("XDG_STATE_HOME")
    if state:
        return Path(state).expanduser() / "skills" / ".skill-lock.json"
    return Path(env.get("HOME") or os.path.expanduser("~")) / ".agents" / ".skill-lock.json"


def read_npx_lock(path: Path, *, scope: str) -> list[NpxSkill]:
    """The skills in one `npx skills` lock file; [] when there is none; every value checked."""
    fix = "fix it, or reinstall with `npx skills`"
    try:
        data = read_json(path, error=NpxLockError, fix=fix)
    except FileNotFoundError:
        return []
    try:
        lock = _NpxLock.model_validate(data)
    except ValidationError as exc:
        where, problem = first_problem(exc)
        raise NpxLockError(f"{path}: not an npx skills lock file ({where}: {problem})") from None
    for name, entry in lock.skills.items():
        refused = _entry_problem(name, entry)
        if refused is not None:
            raise NpxLockError(f"{path}: {refused}; {fix}")
    return [
        NpxSkill(name, scope, e.source, e.sourceType or "unknown", e.sourceUrl, e.skillPath,
                 e.ref, path)
        for name, e in sorted(lock.skills.items())
    ]


def _entry_problem(name: str, entry: _NpxEntry) -> str | None:
    """`skills.NAME.FIELD: why` for the first value that may not reach git or a path."""
    def source_problem(value: str) -> str | None:
        return text_problem(value, spaces=True)

    return named_entry_problem(name, [
        ("source", entry.source, source_problem, "a git URL"),
        ("sourceUrl", entry.sourceUrl, source_problem, "a git URL"),
        ("ref", entry.ref, ref_problem, "a git ref"),
        ("skillPath", entry.skillPath, subpath_problem, "a path inside the source"),
    ])


def scope_skills(repo: Path | None, env: Mapping[str, str]) -> list[NpxSkill]:
    """What `npx skills` recorded in one scope: this repo's lock, or (no repo) the user's."""
    if repo is None:
        return read_npx_lock(global_lock_path(env), scope="global")
    return read_npx_lock(repo / PROJECT_LOCK, scope="project")


def npx_skills(repo: Path | None, env: Mapping[str, str]) -> list[NpxSkill]:
    """Everything `npx skills` recorded for this repo (if any) and for the user."""
    found = scope_skills(repo, env) if repo else []
    return found + scope_skills(None, env)


def import_spec(skill: NpxSkill) -> SourceSpec:
    """The git source and folder to install an npx-recorded skill from."""
    if skill.source_type not in _IMPORTABLE:
        raise NpxLockError(
            f"{skill.lock_file}: '{skill.name}' came from a {skill.source_type} source; "
            "only git and local sources can be pinned (add it again with `ai-skills add`)"
        )
    if skill.source_type == "local":
        base = skill.lock_file.parent
        spec = parse_source(str(base / skill.source), cwd=base)
    else:
        spec = parse_source(skill.source_url or skill.source, cwd=skill.lock_file.parent)
    folder = posixpath.dirname(skill.skill_path or "")
    if folder:  # `SKILL.md` alone: the skill is the folder the source already names
        spec = SourceSpec(spec.url, posixpath.join(spec.subpath, folder))
    return spec
