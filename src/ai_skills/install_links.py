"""Link installed skills for the agents, check beforehand that they can be, and check after.

A repo scope lists every locked name in its `.skills` and runs the same sync `use-skills`
runs; the user scope links into each agent's user folder through the deploy engine, in
the record of user-wide links it shares with `ai-skills deploy --global` (each link names
the command that made it; neither takes over or removes the other's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills import deploy as engine
from ai_skills.agents import AGENT_NAMES, DEFAULT_AGENTS, global_skills_dir, repo_skills_dir
from ai_skills.errors import AiSkillsError
from ai_skills.fsutil import atomic_write_text, file_lock
from ai_skills.global_deploy import ADD_OWNER, DEPLOY_OWNER, global_state_dir, link_user_folders
from ai_skills.install import Scope
from ai_skills.lock import LockedSkill
from ai_skills.xdg import xdg_home


class LinkPreflightError(AiSkillsError):
    """A skill could not be linked for the agents asked for; nothing was changed."""


@dataclass
class Linked:
    """Links made, and problems found while linking."""

    steps: list[engine.Step] = field(default_factory=list)
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
    """Link every locked skill of `scope` for its agents (repo: as `.skills` lists them)."""
    if scope.repo is not None:
        return _link_repo(scope.repo, lock, env, agents=agents)
    return _link_user(scope, lock, env, cwd=cwd)


def list_in_manifest(scope: Scope, names: Sequence[str]) -> list[str]:
    """Append to a repo's `.skills` each of `names` it does not list (under the lock)."""
    from ai_skills.manifest_edit import add_names
    from ai_skills.use_skills import MANIFEST

    if scope.repo is None:
        return []
    return add_names(scope.repo / MANIFEST, sorted(names))


def _link_repo(
    repo: Path,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
) -> Linked:
    from ai_skills.use_skills import sync_repo

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


def _user_links(
    scope: Scope, lock: Mapping[str, LockedSkill], env: Mapping[str, str], *, cwd: Path
) -> dict[Path, str]:
    return {
        global_skills_dir(agent, env, cwd=cwd) / name: str(scope.skills_dir / name)
        for name, entry in lock.items()
        for agent in entry.agents or DEFAULT_AGENTS
    }


def _link_user(
    scope: Scope,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    cwd: Path,
) -> Linked:
    """Link each skill into the user folders of its agents, through the deploy engine."""
    _merge_old_record(env)
    managed = tuple(global_skills_dir(agent, env, cwd=cwd) for agent in AGENT_NAMES)
    result = link_user_folders(_user_links(scope, lock, env, cwd=cwd), env, owner=ADD_OWNER,
                               dry_run=False, managed_dirs=managed)
    return Linked(list(result.done), [f"{s.target}: {s.reason}" for s in result.refused])


def _merge_old_record(env: Mapping[str, str]) -> None:
    """Move the links `add --global` recorded in its own file (before the record was shared)
    into the shared record, as its own: also those `deploy --global` had adopted from it."""
    old = Path(xdg_home(env, "XDG_STATE_HOME")) / "ai-skills/installed/links.json"
    if not old.exists():
        return
    state = global_state_dir(env)
    with file_lock(state / "lock"):
        legacy = engine.read_record(old)
        shared = engine.read_record(state / "links.json")
        for key, text in {**legacy.pending, **legacy.links}.items():
            shared.links[key] = text
            shared.pending.pop(key, None)
            shared.owners[key] = ADD_OWNER
        for key in shared.links.keys() | shared.pending.keys():
            shared.owners.setdefault(key, DEPLOY_OWNER)
        atomic_write_text(state / "links.json", shared.to_json(), durable=False)
        old.unlink()


def preflight(
    scope: Scope,
    names: Sequence[str],
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
    cwd: Path,
) -> None:
    """Raise, before anything changes, when `names` could not be linked as asked."""
    if scope.repo is not None:
        from ai_skills.manifest_edit import check_editable
        from ai_skills.use_skills import MANIFEST

        check_editable(scope.repo / MANIFEST)
        desired, record, theirs = _repo_preflight_links(scope, names, env, agents)
    else:
        chosen = list(agents or DEFAULT_AGENTS)
        desired = {global_skills_dir(agent, env, cwd=cwd) / name: str(scope.skills_dir / name)
                   for name in names for agent in chosen}
        full = engine.read_record(global_state_dir(env) / "links.json")
        record, theirs = engine.split_record(full, ADD_OWNER, DEPLOY_OWNER)
    refused = [step for step in engine.plan_links(desired, record, theirs=theirs)
               if step.action == engine.Action.REFUSE and step.target in desired]
    if refused:
        raise LinkPreflightError("; ".join(f"{s.target}: {s.reason}" for s in refused)
                                 + "; nothing was changed")


def _repo_preflight_links(
    scope: Scope, names: Sequence[str], env: Mapping[str, str], agents: Sequence[str] | None
) -> tuple[dict[Path, str], engine.Record, engine.Record]:
    from ai_skills.use_skills import CODEX_HOME_UNSET, link_text, state_dir_for

    assert scope.repo is not None
    repo = scope.repo
    folders = []
    for agent in agents if agents is not None else DEFAULT_AGENTS:
        folder = repo_skills_dir(agent, repo, env)
        if folder is None and agents is not None:
            raise LinkPreflightError(f"{CODEX_HOME_UNSET}; nothing was changed")
        if folder is not None:
            folders.append(folder)
    desired = {folder / name: link_text(folder / name, scope.skills_dir / name, repo)
               for folder in folders for name in names}
    record = engine.read_record(state_dir_for(repo, env) / "links.json")
    return desired, record, engine.empty_record()


def link_problems(
    scope: Scope, lock: Mapping[str, LockedSkill], env: Mapping[str, str], *, cwd: Path
) -> dict[str, list[str]]:
    """Name -> what is missing for agents to see it: a `.skills` line, or a user link."""
    problems: dict[str, list[str]] = {}
    if scope.repo is not None:
        from ai_skills.manifest_edit import problem
        from ai_skills.use_skills import MANIFEST, read_manifest

        if problem(scope.repo / MANIFEST) is not None:
            return {}  # `use-skills --check` reports an unreadable manifest
        listed = set(read_manifest(scope.repo).names)
        for name in lock:
            if name not in listed:
                problems.setdefault(name, []).append(f"not listed in {MANIFEST}")
        return problems
    for name, entry in lock.items():
        for agent in entry.agents or DEFAULT_AGENTS:
            target = global_skills_dir(agent, env, cwd=cwd) / name
            if not _links_to(target, str(scope.skills_dir / name)):
                problems.setdefault(name, []).append(f"not linked: {target}")
    return problems


def _links_to(path: Path, text: str) -> bool:
    try:
        return os.readlink(path) == text
    except OSError:
        return False
