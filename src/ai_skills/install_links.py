"""Link installed skills for the agents once the lock is written.

A repo scope lists every locked name in its `.skills` and runs the same sync `use-skills`
runs; the user scope links into each agent's user folder through the deploy engine, with
its own record of the links it made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills.agents import AGENT_NAMES, DEFAULT_AGENTS, global_skills_dir
from ai_skills.deploy import Step, deploy
from ai_skills.install import Scope
from ai_skills.lock import LockedSkill


@dataclass
class Linked:
    """Links made, and problems found while linking."""

    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def link_scope(
    scope: Scope,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
    cwd: Path,
) -> Linked:
    """Link every locked skill of `scope` for its agents."""
    if scope.repo is not None:
        return _link_repo(scope.repo, lock, env, agents=agents)
    return _link_user(scope, lock, env, cwd=cwd)


def _link_repo(
    repo: Path,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
) -> Linked:
    """Every locked name is listed in `.skills`; then the use-skills sync links them."""
    from ai_skills.manifest_edit import add_name
    from ai_skills.use_skills import MANIFEST, sync_repo

    for name in sorted(lock):
        add_name(repo / MANIFEST, name)
    warnings = _shadowed(repo, lock, env)
    sync = sync_repo(repo, env, agents=agents)
    return Linked(list(sync.done), list(sync.errors), warnings + list(sync.warnings))


def _shadowed(repo: Path, lock: Mapping[str, LockedSkill], env: Mapping[str, str]) -> list[str]:
    """Warnings for installed skills that an AI_SKILLS_PATH folder hides from use-skills."""
    from ai_skills.catalog import INSTALLED_REPO_DIR, find_skill, search_path

    dirs = search_path(env, repo=repo)
    warnings = []
    for name in sorted(lock):
        found = find_skill(name, dirs)
        if found is not None and found.path != repo / INSTALLED_REPO_DIR / name:
            warnings.append(
                f"'{name}' in {found.path.parent} ({found.origin}) comes first in the search "
                f"path, so agents get that one, not the installed {name}"
            )
    return warnings


def _link_user(
    scope: Scope,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    cwd: Path,
) -> Linked:
    """Link each skill into the user folders of its agents, through the deploy engine."""
    assert scope.link_state_dir is not None
    desired = {
        global_skills_dir(agent, env, cwd=cwd) / name: str(scope.skills_dir / name)
        for name, entry in lock.items()
        for agent in entry.agents or DEFAULT_AGENTS
    }
    managed = tuple(global_skills_dir(agent, env, cwd=cwd) for agent in AGENT_NAMES)
    result = deploy(desired, scope.link_state_dir, dry_run=False, managed_dirs=managed)
    return Linked(list(result.done), [f"{s.target}: {s.reason}" for s in result.refused])
