"""Turn a selection of skill names per agent into the links a user-wide deploy makes.

This is the Python twin of `modules/lib.nix`; `tests/vectors/global_selection/` drives both
so the home-manager module and `ai-skills deploy --global` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ai_skills.deploy.agents import global_skills_dir
from ai_skills.skills.catalog import CatalogDir, find_skill, unknown_skill_message
from ai_skills.skills.validation import SKILL_FILE, name_error, quoted, validate_skill


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


class Verdict(NamedTuple):
    """The folder a selected name deploys from, or why it cannot be deployed."""

    path: Path | None
    kind: str = ""
    message: str = ""


def judge_skill(name: str, dirs: Sequence[CatalogDir]) -> Verdict:
    """Find `name` in `dirs` (first match wins) and check it can be deployed."""
    if name_error(name) is not None:
        return Verdict(None, "invalid-name", f"invalid skill name {quoted(name)}")
    entry = find_skill(name, dirs)
    if entry is None:
        if any((d.path / name).is_dir() for d in dirs):
            return Verdict(None, "missing-skill-md", f"skill folder '{name}' has no {SKILL_FILE}")
        return Verdict(None, "unknown-skill", unknown_skill_message(name, dirs))
    report = validate_skill(entry.path)
    if report.ok:
        return Verdict(entry.path)
    if report.name is not None and report.name != name:
        message = f"skill '{name}' declares name '{report.name}' in {SKILL_FILE}"
        return Verdict(None, "name-mismatch", message)
    first = report.errors[0]
    message = f"skill '{name}': {first.location()}: {first.message}"
    return Verdict(None, "invalid-front-matter", message)


def select_global(
    catalog_dirs: Sequence[Path],
    selection: Mapping[str, Sequence[str]],
    env: Mapping[str, str],
) -> GlobalSelection:
    """Links for `selection` (agent -> skill names) found in `catalog_dirs`, first match wins.

    Agents sharing a user folder get one link there.
    """
    dirs = [CatalogDir(Path(d), "catalog") for d in catalog_dirs]
    return select_from(dirs, selection, env)


def select_from(
    dirs: Sequence[CatalogDir],
    selection: Mapping[str, Sequence[str]],
    env: Mapping[str, str],
) -> GlobalSelection:
    """Like `select_global`, over labelled catalog folders."""
    result = GlobalSelection()
    verdicts: dict[str, Verdict] = {}
    for agent, names in selection.items():
        if not names:
            continue
        target_dir = global_skills_dir(agent, env)
        for name in dict.fromkeys(names):
            if name not in verdicts:
                verdicts[name] = judge_skill(name, dirs)
            verdict = verdicts[name]
            if verdict.path is None:
                result.errors.append(SelectionError(verdict.kind, name, agent, verdict.message))
            else:
                result.links[target_dir / name] = verdict.path
    return result
