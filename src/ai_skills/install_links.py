"""Link installed skills for the agents once the lock is written.

A repo scope lists every locked name in its `.skills` and runs the same sync `use-skills`
runs; the user scope links into each agent's user folder through the deploy engine, with
its own record of the links it made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills.agents import (
    AgentError,
    all_global_dirs,
    canonical_names,
    default_agents,
    global_skills_dir,
    table,
)
from ai_skills.deploy import Step, deploy, read_record
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
    """Link every locked skill of `scope` for its agents (`cwd` is no longer needed: a
    relative agent home is refused, not taken against it)."""
    if scope.repo is not None:
        return _link_repo(scope.repo, lock, env, agents=agents)
    return _link_user(scope, lock, env)


def _link_repo(
    repo: Path,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
) -> Linked:
    """Every locked name is listed in `.skills`, `agents` join its `agents:` line; then the
    use-skills sync links them, exactly as the next direnv reload would."""
    from ai_skills.manifest_edit import add_name
    from ai_skills.use_skills import MANIFEST, sync_repo

    for name in sorted(lock):
        add_name(repo / MANIFEST, name)
    errors, warnings = _choose_repo_agents(repo, env, agents) if agents else ([], [])
    warnings += _shadowed(repo, lock, env)
    sync = sync_repo(repo, env)
    return Linked(list(sync.done), errors + list(sync.errors), warnings + list(sync.warnings))


def _choose_repo_agents(
    repo: Path, env: Mapping[str, str], agents: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Add `agents` to the repo's choice, the `agents:` line of `.skills`: a repo chooses its
    agents for every skill, and adding one skill never drops an agent.

    Without a line, one is written only when a requested agent is not already a default
    here, and it starts from every default agent, Codex included: the line is shared by
    the team, and a teammate who sets CODEX_HOME must not lose Codex because the writer
    did not.
    """
    from ai_skills.manifest_edit import set_agents
    from ai_skills.use_skills import AGENTS_VARIABLE, MANIFEST, read_manifest

    line = read_manifest(repo).agents
    requested = canonical_names(agents)
    if line is None:
        current = default_agents(env)
    else:
        try:
            current = canonical_names(line.names)
        except AgentError as error:
            return [f"{MANIFEST}:{line.line}: {error}; fix that line first"], []
    if not set(requested) <= set(current):
        base = current if line else list(table().defaults)
        set_agents(repo / MANIFEST, list(dict.fromkeys([*base, *requested])))
    warnings = []
    if env.get(AGENTS_VARIABLE, "").strip():
        warnings.append(f"{AGENTS_VARIABLE} is set, so use-skills links for its agents; the "
                        f"`agents:` line in {MANIFEST} applies where it is not set")
    return [], warnings


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
) -> Linked:
    """Link each skill into the user folders of its agents, through the deploy engine.

    Agents sharing a folder get one link. When an agent's folder cannot be worked out (an
    unknown name in the lock, a relative CODEX_HOME) nothing is unlinked this run.
    """
    assert scope.link_state_dir is not None
    desired: dict[Path, str] = {}
    errors: list[str] = []
    for name, entry in sorted(lock.items()):
        for agent in entry.agents or table().defaults:
            try:
                desired[global_skills_dir(agent, env) / name] = str(scope.skills_dir / name)
            except AgentError as error:
                errors.append(f"{scope.lock_path}: '{name}': {error}")
    held: tuple[Path, ...] = ()
    if errors:
        record = read_record(scope.link_state_dir / "links.json")
        held = tuple({Path(target).parent for target in record.links | record.pending})
    result = deploy(desired, scope.link_state_dir, dry_run=False,
                    managed_dirs=tuple(all_global_dirs(env)), held_dirs=held)
    return Linked(list(result.done), errors + [f"{s.target}: {s.reason}" for s in result.refused])
