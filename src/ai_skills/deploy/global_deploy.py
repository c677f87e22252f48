"""`ai-skills deploy --global`: the home-manager module's result for people without it.

The selection comes from `--skill` options or `~/.config/ai-skills/skills` (same format as a
repo's `.skills`); the targets and checks are the ones `modules/lib.nix` uses, through
`selection.select_from`, and the links go through the same deploy engine as use-skills.

The user-wide folders are also linked by `ai-skills add --global`. Both commands keep one
record of links (`$XDG_STATE_HOME/ai-skills/global/links.json`) in which each link names
the command that made it, and neither changes the other's links (`link_user_folders`).
A deploy also holds the user install scope's lock, so it never links a skill that
`add --global`, `update --global` or `remove --global` is changing at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills.deploy import engine
from ai_skills.deploy.agents import (
    AgentError,
    all_global_dirs,
    canonical_names,
    global_skills_dir,
    table,
)
from ai_skills.deploy.global_selection import SelectionError, select_from
from ai_skills.deploy.manifest import read_manifest_file
from ai_skills.errors import AiSkillsError
from ai_skills.skills.catalog import search_path
from ai_skills.util.xdg import xdg_home

# Owners in the shared record of user-wide links. Entries without an owner were written
# before `add --global` shared the record, when only `deploy --global` used it.
DEPLOY_OWNER = "deploy --global"
ADD_OWNER = "add --global"


class NothingSelectedError(AiSkillsError):
    """No skill was named for a global deploy."""


@dataclass
class GlobalDeployReport:
    """What a global deploy did or would do."""

    steps: list[engine.Step] = field(default_factory=list)
    done: list[engine.Step] = field(default_factory=list)
    refused: list[engine.Step] = field(default_factory=list)
    errors: list[SelectionError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def config_dir(env: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/ai-skills`, default `~/.config/ai-skills`."""
    return Path(xdg_home(env, "XDG_CONFIG_HOME")) / "ai-skills"


def global_state_dir(env: Mapping[str, str]) -> Path:
    """Where the user-wide deploy keeps its record of links."""
    return Path(xdg_home(env, "XDG_STATE_HOME")) / "ai-skills/global"


def link_user_folders(
    desired: Mapping[Path, str],
    env: Mapping[str, str],
    *,
    owner: str,
    dry_run: bool,
    managed_dirs: tuple[Path, ...],
    held_dirs: tuple[Path, ...] = (),
) -> engine.DeployResult:
    """Link into the agents' user folders as `owner`, in the record both commands share."""
    return engine.deploy(desired, global_state_dir(env), dry_run=dry_run,
                         managed_dirs=managed_dirs, held_dirs=held_dirs,
                         owner=(owner, DEPLOY_OWNER))


def selected_names(env: Mapping[str, str], skills: Sequence[str]) -> tuple[list[str], list[str]]:
    """Names from `--skill` if given, else from the user's skills file; plus warnings."""
    if skills:
        return list(dict.fromkeys(skills)), []
    path = config_dir(env) / "skills"
    try:
        manifest = read_manifest_file(path)
    except FileNotFoundError:
        raise NothingSelectedError(
            f"no skills selected: pass --skill NAME, or list names in {path} (one per line)"
        ) from None
    warnings = [f"{path}:{p.line}: {p.message}" for p in manifest.problems]
    return manifest.names, warnings


def selected_agents(env: Mapping[str, str], agents: Sequence[str] | None) -> list[str]:
    """`--agents` if given, else the `agents:` line of the user's skills file, else the
    table's defaults; names and aliases become table names."""
    if agents is not None:
        return canonical_names(agents)
    path = config_dir(env) / "skills"
    try:
        line = read_manifest_file(path).agents
    except FileNotFoundError:
        line = None
    if line is None:
        return list(table().defaults)
    try:
        return canonical_names(line.names)
    except AgentError as error:
        raise AgentError(f"{path}:{line.line}: {error}") from None


def deploy_global(
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
    skills: Sequence[str] = (),
    dry_run: bool,
) -> GlobalDeployReport:
    """Link the selected skills into each agent's user-wide folder, own links only.

    `agents` None: the `agents:` line of the user's skills file, else the defaults.
    """
    names, warnings = selected_names(env, skills)
    chosen = selected_agents(env, agents)
    if dry_run:
        return _deploy(env, names, chosen, warnings, dry_run=True)
    from ai_skills.install.scope import user_scope
    from ai_skills.install.staging import locked

    # Chosen under the lock: a skill `remove --global` is deleting is not linked.
    with locked(user_scope(env)):
        return _deploy(env, names, chosen, warnings, dry_run=False)


def _deploy(
    env: Mapping[str, str],
    names: list[str],
    chosen: list[str],
    warnings: list[str],
    *,
    dry_run: bool,
) -> GlobalDeployReport:
    dirs = search_path(env, repo=None)
    selection = select_from(dirs, {agent: names for agent in chosen}, env)
    desired = {target: str(source) for target, source in selection.links.items()}
    managed = tuple(dict.fromkeys(global_skills_dir(agent, env) for agent in chosen))
    # Agents not named this time keep the links an earlier deploy gave them, except in a
    # folder a chosen agent shares with them: that one is managed, one link per skill.
    held = tuple(d for d in all_global_dirs(env) if d not in managed)
    result = link_user_folders(desired, env, owner=DEPLOY_OWNER, dry_run=dry_run,
                               managed_dirs=managed, held_dirs=held)
    return GlobalDeployReport(
        steps=result.steps,
        done=result.done,
        refused=result.refused,
        errors=selection.errors,
        warnings=warnings,
    )
