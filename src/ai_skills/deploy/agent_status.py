"""What `ai-skills agents` reports: each agent's folders resolved for this user and repo now,
and whether the agent looks installed here."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ai_skills.deploy.agents import (
    Agent,
    AgentError,
    Location,
    global_skills_dir,
    repo_skills_dir,
    resolve_location,
    table,
)


class AgentStatus(NamedTuple):
    """One agent of the table, resolved."""

    agent: Agent
    project_dir: Path | None  # absolute in a repo; relative to the repo root outside one
    global_dir: Path | None
    problem: str | None  # why a folder could not be resolved (say, a relative CODEX_HOME)
    installed_by: str | None  # `program claude` / `folder /home/u/.claude`; None: not seen


def location_text(location: Location) -> str:
    """A location as people write it: `$CLAUDE_CONFIG_DIR/skills (default ~/.claude/skills)`."""
    default = f"{location.default}/{location.subpath}" if location.subpath else location.default
    if location.env is None:
        return default
    moved = f"${location.env}/{location.subpath}" if location.subpath else f"${location.env}"
    return f"{moved} (default {default})"


def project_text(agent: Agent) -> str:
    """The per-repo folder rule: `.agents/skills`, or `$CODEX_HOME/skills if set, else ...`."""
    plain = agent.project_dir or "none"
    override = agent.project_override
    if override is None:
        return plain
    return f"${override.env}/{override.subpath} when set, else {plain}"


def installed_by(agent: Agent, env: Mapping[str, str]) -> str | None:
    """Why the agent looks installed: its program on PATH, or one of its folders exists."""
    search = env.get("PATH", "")
    for program in agent.programs:
        if shutil.which(program, path=search):
            return f"program {program}"
    for location in agent.detect:
        try:
            folder = resolve_location(location, env)
        except AgentError:
            continue
        if folder.is_dir():
            return f"folder {folder}"
    return None


def describe_agents(env: Mapping[str, str], repo: Path | None) -> list[AgentStatus]:
    """Every agent of the table, in table order, resolved for `env` and `repo` (None: not in
    a repo, per-repo folders stay relative)."""
    rows = []
    for agent in table().agents:
        problems = []
        project = global_ = None
        try:
            project = repo_skills_dir(agent.name, repo or Path(), env)
        except AgentError as error:
            problems.append(str(error))
        if agent.global_dir is not None:
            try:
                global_ = global_skills_dir(agent.name, env)
            except AgentError as error:
                problems.append(str(error))
        problem = "; ".join(dict.fromkeys(problems)) or None
        rows.append(AgentStatus(agent, project, global_, problem, installed_by(agent, env)))
    return rows


def shown_dir(folder: Path | None, repo: Path | None) -> str | None:
    """A folder as `ai-skills agents` prints it: relative inside the repo, else absolute."""
    if folder is None:
        return None
    if repo is not None and folder.is_relative_to(repo):
        return os.path.relpath(folder, repo)
    return str(folder)
