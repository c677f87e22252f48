"""Find the skills in a fetched source tree, the way `npx skills add` looks for them.

A `SKILL.md` at the top of the source (or of the folder the user named) makes that folder
the one skill. Otherwise every folder holding a `SKILL.md` is a skill, except folders
inside another skill (its examples) and anything under `node_modules`. When two folders
carry the same name, the one under `skills/`, then the shallowest, wins.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ai_skills.install.sources import GitEntry
from ai_skills.skills.front_matter import front_matter_fields
from ai_skills.skills.validation import (
    SKILL_FILE,
    name_error,
    name_problems,
    validate_skill_md,
)

_SKIPPED_PARTS = frozenset({"node_modules", ".git"})


class FoundSkill(NamedTuple):
    """A skill folder in a source: its install name, path inside the source, description."""

    name: str
    path: str  # '' when the source's top folder is the skill
    description: str
    problem: str | None = None  # first validation error of its SKILL.md, if any


def skill_folders(entries: list[GitEntry], subpath: str) -> list[str]:
    """Folders (inside the source) holding a SKILL.md, in priority order."""
    prefix = f"{subpath}/" if subpath else ""
    folders = []
    for entry in entries:
        if entry.kind != "blob" or posixpath.basename(entry.path) != SKILL_FILE:
            continue
        if not entry.path.startswith(prefix):
            continue
        folder = posixpath.dirname(entry.path)
        if _SKIPPED_PARTS.intersection(folder.split("/")):
            continue
        folders.append(folder)
    if subpath in folders:
        return [subpath]
    top_level = [f for f in folders if not any(f.startswith(o + "/") for o in folders if o != f)]
    in_skills = prefix + "skills/"
    return sorted(
        top_level, key=lambda f: (not f.startswith(in_skills), f.count("/"), f)
    )


def discover(
    entries: list[GitEntry],
    subpath: str,
    read_blobs: Callable[[list[str]], dict[str, bytes]],
) -> tuple[list[FoundSkill], list[str]]:
    """The skills in a source tree, and warnings about names found twice."""
    folders = skill_folders(entries, subpath)
    oids = {e.path: e.oid for e in entries if e.kind == "blob"}
    paths = [posixpath.join(f, SKILL_FILE) if f else SKILL_FILE for f in folders]
    blobs = read_blobs([oids[p] for p in paths])
    found: dict[str, FoundSkill] = {}
    warnings: list[str] = []
    for folder, path in zip(folders, paths, strict=True):
        fields = front_matter_fields(blobs[oids[path]].decode("utf-8", "replace"))
        name = _install_name(folder, fields.get("name"))
        description = str(fields.get("description") or "").strip()
        if name in found:
            warnings.append(
                f"'{name}' found in {found[name].path or '.'} and {folder or '.'}; "
                f"using {found[name].path or '.'}"
            )
            continue
        found[name] = FoundSkill(name, folder, description,
                                 skill_md_problem(name, blobs[oids[path]]))
    return list(found.values()), warnings


def skill_md_problem(name: str, skill_md: bytes) -> str | None:
    """The first error `validate_skill` finds in this SKILL.md for a folder named `name`."""
    if not skill_md:
        return f"{SKILL_FILE} is too large to read"
    problem = name_error(name)
    if problem is not None:
        return problem
    error = skill_md_error(name, skill_md)
    if error is None:
        return None
    _, line, message = error
    return f"{SKILL_FILE}{f':{line}' if line else ''}: {message}"


def skill_md_error(name: str, skill_md: bytes) -> tuple[str, int | None, str] | None:
    """The first `validate_skill` error as (path shown, line, message), or None."""
    report = validate_skill_md(Path(name), skill_md)
    if report.ok:
        return None
    first = report.errors[0]
    return first.path.as_posix(), first.line, first.message


def _install_name(folder: str, declared: object) -> str:
    """The declared name when it is a valid one (as npx does), else the folder's name."""
    if isinstance(declared, str) and declared.strip():
        problems = name_problems(declared.strip())
        if not any(severity == "error" for severity, _ in problems):
            return declared.strip()
    return posixpath.basename(folder) if folder else str(declared or "")
