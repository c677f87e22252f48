"""Turn a selection of skill names per agent into the links a user-wide deploy makes.

This is the Python twin of `modules/lib.nix`; `tests/vectors/global_selection/` drives both
so the home-manager module and `ai-skills deploy --global` cannot disagree.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills.agents import global_skills_dir
from ai_skills.catalog import CatalogDir, find_skill
from ai_skills.skill import SKILL_FILE, name_problems, validate_skill


@dataclass(frozen=True)
class SelectionError:
    """Why one selected skill cannot be deployed (kind is stable, for tests and scripts)."""

    # unknown-skill | invalid-name | missing-skill-md | invalid-front-matter | name-mismatch
    kind: str
    skill: str
    agent: str | None
    message: str


@dataclass
class GlobalSelection:
    """Target link path -> skill folder, and the selections that could not be honoured."""

    links: dict[Path, Path] = field(default_factory=dict)
    errors: list[SelectionError] = field(default_factory=list)


def skill_problem(name: str, dirs: Sequence[CatalogDir]) -> tuple[str, str] | None:
    """(kind, message) when `name` cannot be deployed from `dirs`, else None."""
    if any(severity == "error" for severity, _ in name_problems(name)) or "/" in name:
        return "invalid-name", f"invalid skill name '{name}'"
    entry = find_skill(name, dirs)
    if entry is None:
        if any((d.path / name).is_dir() for d in dirs):
            return "missing-skill-md", f"skill folder '{name}' has no {SKILL_FILE}"
        return "unknown-skill", unknown_skill_message(name, dirs)
    report = validate_skill(entry.path)
    if report.ok:
        return None
    if report.name is not None and report.name != name:
        return "name-mismatch", f"skill '{name}' declares name '{report.name}' in {SKILL_FILE}"
    first = report.errors[0]
    return "invalid-front-matter", f"skill '{name}': {first.location()}: {first.message}"


def unknown_skill_message(name: str, dirs: Sequence[CatalogDir]) -> str:
    """`unknown skill 'x' (did you mean 'y'?)` using every visible name."""
    from ai_skills.catalog import all_names

    names = all_names(dirs)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"unknown skill '{name}' (did you mean '{close[0]}'?)"
    known = ", ".join(names) if names else "none"
    return f"unknown skill '{name}' (available: {known})"


def select_global(
    catalog_dirs: Sequence[Path],
    selection: Mapping[str, Sequence[str]],
    env: Mapping[str, str],
    *,
    cwd: Path,
) -> GlobalSelection:
    """Links for `selection` (agent -> skill names) found in `catalog_dirs`, first match wins."""
    dirs = [CatalogDir(Path(d), "catalog") for d in catalog_dirs]
    return select_from(dirs, selection, env, cwd=cwd)


def select_from(
    dirs: Sequence[CatalogDir],
    selection: Mapping[str, Sequence[str]],
    env: Mapping[str, str],
    *,
    cwd: Path,
) -> GlobalSelection:
    """Like `select_global`, over labelled catalog folders."""
    result = GlobalSelection()
    verdicts: dict[str, tuple[str, str] | None] = {}
    for agent, names in selection.items():
        if not names:
            continue
        target_dir = global_skills_dir(agent, env, cwd=cwd)
        for name in dict.fromkeys(names):
            if name not in verdicts:
                verdicts[name] = skill_problem(name, dirs)
            problem = verdicts[name]
            if problem is not None:
                result.errors.append(SelectionError(problem[0], name, agent, problem[1]))
                continue
            entry = find_skill(name, dirs)
            assert entry is not None  # skill_problem() found it a moment ago
            result.links[target_dir / name] = entry.path
    return result
