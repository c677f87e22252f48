"""Link installed skills for the agents, check beforehand that they can be, and check after.

A repo scope lists every locked name in its `.skills` (and the agents asked for on its
`agents:` line) and runs the same sync `use-skills` runs; the user scope links into each
agent's user folder through the deploy engine, in the record of user-wide links it shares
with `ai-skills deploy --global` (each link names the command that made it; neither takes
over or removes the other's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ai_skills.deploy import engine
from ai_skills.deploy.agents import (
    AgentError,
    all_global_dirs,
    canonical_names,
    default_agents,
    global_skills_dir,
    repo_skills_dir,
    table,
)
from ai_skills.errors import AiSkillsError
from ai_skills.install.lock import LockedSkill
from ai_skills.install.scope import Scope
from ai_skills.util.fs import atomic_write_text, file_lock
from ai_skills.util.xdg import xdg_home


class LinkPreflightError(AiSkillsError):
    """A skill could not be linked for the agents asked for; nothing was changed."""


class Linked(NamedTuple):
    """Links made, and problems found while linking."""

    steps: list[engine.Step]
    errors: list[str]
    warnings: list[str]


def link_scope(
    scope: Scope,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
) -> Linked:
    """Link every locked skill of `scope` for its agents (repo: as `.skills` says)."""
    if scope.repo is not None:
        return _link_repo(scope.repo, lock, env)
    return _link_user(scope, lock, env)


def edit_manifest(
    scope: Scope, names: Sequence[str], env: Mapping[str, str], agents: Sequence[str] | None
) -> Linked:
    """In a repo's `.skills` (under the lock): list each of `names` it does not list, and
    add `agents` to its `agents:` line. Problems and notes come back in a `Linked`."""
    from ai_skills.deploy.manifest_edit import add_names
    from ai_skills.deploy.use_skills import MANIFEST

    if scope.repo is None:
        return Linked([], [], [])
    add_names(scope.repo / MANIFEST, sorted(names))
    if not agents:
        return Linked([], [], [])
    errors, warnings = _choose_repo_agents(scope.repo, env, agents)
    return Linked([], errors, warnings)


def _link_repo(repo: Path, lock: Mapping[str, LockedSkill], env: Mapping[str, str]) -> Linked:
    """The use-skills sync, exactly as the next direnv reload would run it."""
    from ai_skills.deploy.use_skills import sync_repo

    warnings = _shadowed(repo, lock, env)
    sync = sync_repo(repo, env)
    return Linked(list(sync.done), list(sync.errors), warnings + list(sync.warnings))


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
    from ai_skills.deploy.manifest_edit import set_agents
    from ai_skills.deploy.use_skills import AGENTS_VARIABLE, MANIFEST, read_manifest

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
    from ai_skills.skills.catalog import INSTALLED_REPO_DIR, find_skill, search_path

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
    # Here, not at the top: a repo's `add` never needs the user-wide side.
    from ai_skills.deploy.global_deploy import ADD_OWNER, global_state_dir, link_user_folders

    _merge_old_record(env)
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
        record = engine.read_record(global_state_dir(env) / "links.json")
        held = tuple({Path(target).parent for target in record.links | record.pending})
    result = link_user_folders(desired, env, owner=ADD_OWNER, dry_run=False,
                               managed_dirs=tuple(all_global_dirs(env)), held_dirs=held)
    refused = [f"{s.target}: {s.reason}" for s in result.refused]
    return Linked(list(result.done), errors + refused, [])


def _merge_old_record(env: Mapping[str, str]) -> None:
    """Move the links `add --global` recorded in its own file (before the record was shared)
    into the shared record, as its own: also those `deploy --global` had adopted from it."""
    from ai_skills.deploy.global_deploy import ADD_OWNER, DEPLOY_OWNER, global_state_dir

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
) -> None:
    """Raise, before anything changes, when `names` could not be linked as asked: an agent
    whose folder cannot be worked out, or something in the way of a link."""
    try:
        if scope.repo is not None:
            from ai_skills.deploy.manifest_edit import check_editable
            from ai_skills.deploy.use_skills import MANIFEST

            check_editable(scope.repo / MANIFEST)
            desired, record, theirs = _repo_links(scope, scope.repo, names, env, agents)
        else:
            from ai_skills.deploy.global_deploy import ADD_OWNER, DEPLOY_OWNER, global_state_dir

            desired = {global_skills_dir(agent, env) / name: str(scope.skills_dir / name)
                       for name in names for agent in agents or table().defaults}
            full = engine.read_record(global_state_dir(env) / "links.json")
            record, theirs = engine.split_record(full, ADD_OWNER, DEPLOY_OWNER)
    except AgentError as error:
        raise LinkPreflightError(f"{error}; nothing was changed") from None
    refused = [step for step in engine.plan_links(desired, record, theirs=theirs)
               if step.action == engine.Action.REFUSE and step.target in desired]
    if refused:
        raise LinkPreflightError("; ".join(f"{s.target}: {s.reason}" for s in refused)
                                 + "; nothing was changed")


def _repo_links(
    scope: Scope,
    repo: Path,
    names: Sequence[str],
    env: Mapping[str, str],
    agents: Sequence[str] | None,
) -> tuple[dict[Path, str], engine.Record, engine.Record]:
    """The links a sync will want for `names`: for the agents the repo chooses now, and those
    asked for (which join its choice). Raises AgentError for a folder that cannot be had."""
    from ai_skills.deploy.use_skills import (
        SyncReport,
        choose_agents,
        link_text,
        read_manifest,
        state_dir_for,
    )

    chosen = choose_agents(read_manifest(repo), env, None, SyncReport(repo)).names
    folders: dict[Path, None] = {}
    for agent in dict.fromkeys([*chosen, *canonical_names(agents or [])]):
        folder = repo_skills_dir(agent, repo, env)
        if folder is None:
            raise AgentError(f"{agent}: has no per-repo skills folder")
        folders[folder] = None
    desired = {folder / name: link_text(folder / name, scope.skills_dir / name, repo)
               for folder in folders for name in names}
    record = engine.read_record(state_dir_for(repo, env) / "links.json")
    return desired, record, engine.empty_record()


def link_problems(
    scope: Scope, lock: Mapping[str, LockedSkill], env: Mapping[str, str]
) -> dict[str, list[str]]:
    """Name -> what is missing for agents to see it: a `.skills` line, or a user link."""
    problems: dict[str, list[str]] = {}
    if scope.repo is not None:
        from ai_skills.deploy.manifest_edit import problem
        from ai_skills.deploy.use_skills import MANIFEST, read_manifest

        if problem(scope.repo / MANIFEST) is not None:
            return {}  # `use-skills --check` reports an unreadable manifest
        listed = set(read_manifest(scope.repo).names)
        for name in lock:
            if name not in listed:
                problems.setdefault(name, []).append(f"not listed in {MANIFEST}")
        return problems
    for name, entry in lock.items():
        for agent in entry.agents or table().defaults:
            try:
                target = global_skills_dir(agent, env) / name
            except AgentError as error:
                problems.setdefault(name, []).append(f"not linked for {agent}: {error}")
                continue
            if not _links_to(target, str(scope.skills_dir / name)):
                problems.setdefault(name, []).append(f"not linked: {target}")
    return problems


def _links_to(path: Path, text: str) -> bool:
    try:
        return os.readlink(path) == text
    except OSError:
        return False
