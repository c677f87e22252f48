"""Find skills in an ordered search path; the first folder that has a name wins.

Order: `AI_SKILLS_PATH` entries, then skills installed with `ai-skills add` (repo scope,
then user scope), then the skills bundled with the package. Lookups only stat paths, so
`use-skills` can resolve names without reading any SKILL.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ai_skills.skills.validation import SKILL_FILE
from ai_skills.util.xdg import xdg_home

INSTALLED_REPO_DIR = ".ai-skills/skills"  # per-repo installs (`ai-skills add`)


class CatalogDir(NamedTuple):
    """One folder of skill folders and where it came from."""

    path: Path
    origin: str  # "AI_SKILLS_PATH", "installed (repo)", "installed (user)", "bundled"


class CatalogEntry(NamedTuple):
    """A skill found in the catalog; `shadows` lists later folders holding the same name."""

    name: str
    path: Path
    origin: str
    shadows: tuple[CatalogDir, ...] = ()


def bundled_skills_dir() -> Path:
    """The skills shipped with the package: inside a wheel, or `skills/` of a checkout."""
    package = Path(__file__).resolve().parents[1]
    inside_wheel = package / "bundled_skills"
    if inside_wheel.is_dir():
        return inside_wheel
    return package.parent.parent / "skills"


def user_installed_dir(env: Mapping[str, str]) -> Path:
    """Where `ai-skills add --global` keeps user-scope skills."""
    return Path(xdg_home(env, "XDG_DATA_HOME")) / "ai-skills/skills"


def search_path(env: Mapping[str, str], *, repo: Path | None) -> list[CatalogDir]:
    """The ordered catalog folders for this environment (missing folders included)."""
    dirs = [
        CatalogDir(Path(entry).expanduser(), "AI_SKILLS_PATH")
        for entry in env.get("AI_SKILLS_PATH", "").split(os.pathsep)
        if entry
    ]
    if repo is not None:
        dirs.append(CatalogDir(repo / INSTALLED_REPO_DIR, "installed (repo)"))
    dirs.append(CatalogDir(user_installed_dir(env), "installed (user)"))
    dirs.append(CatalogDir(bundled_skills_dir(), "bundled"))
    return dirs


def find_skill(name: str, dirs: Sequence[CatalogDir]) -> CatalogEntry | None:
    """The first folder `DIR/name` holding a SKILL.md, or None."""
    for catalog_dir in dirs:
        candidate = catalog_dir.path / name
        if os.path.isfile(candidate / SKILL_FILE):
            return CatalogEntry(name, candidate, catalog_dir.origin)
    return None


def list_catalog(dirs: Sequence[CatalogDir]) -> list[CatalogEntry]:
    """Every skill name visible through `dirs`, with the folders it shadows, sorted by name."""
    found: dict[str, list[tuple[Path, CatalogDir]]] = {}
    for catalog_dir in dirs:
        for child in _skill_children(catalog_dir.path):
            found.setdefault(child.name, []).append((child, catalog_dir))
    entries = []
    for name in sorted(found):
        (path, winner), *rest = found[name]
        entries.append(CatalogEntry(name, path, winner.origin, tuple(d for _, d in rest)))
    return entries


def _skill_children(folder: Path) -> list[Path]:
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    return sorted(
        child
        for child in children
        if not child.name.startswith(".") and (child / SKILL_FILE).is_file()
    )


def unknown_skill_message(name: str, dirs: Sequence[CatalogDir]) -> str:
    """`unknown skill 'x' (did you mean 'y'?)`, from every name visible through `dirs`."""
    import difflib  # error path only

    names = [entry.name for entry in list_catalog(dirs)]
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"unknown skill '{name}' (did you mean '{close[0]}'?)"
    known = ", ".join(names) if names else "none"
    return f"unknown skill '{name}' (available: {known})"
