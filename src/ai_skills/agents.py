"""Where each agent reads skills: one table, resolved against the environment at run time.

The table is data so that adding an agent is one entry, and so that the Nix library
(modules/lib.nix) can mirror it; tests/vectors/ keeps the two in agreement.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ai_skills.errors import UsageError


class Agent(NamedTuple):
    """One agent's skill folders: the user-wide one and the per-repo one."""

    name: str
    title: str
    repo_dir: str | None  # relative to the repo root; None: only through an env variable
    env_var: str | None  # variable that moves the user folder (or, for codex, both)


AGENTS: tuple[Agent, ...] = (
    Agent("claude", "Claude Code", ".claude/skills", "CLAUDE_CONFIG_DIR"),
    Agent("opencode", "OpenCode", ".opencode/skills", "XDG_CONFIG_HOME"),
    # Codex has no per-repo skills folder of its own; users point CODEX_HOME into the repo.
    Agent("codex", "Codex", None, "CODEX_HOME"),
    Agent("agents", "shared .agents standard", ".agents/skills", None),
)

AGENT_NAMES: tuple[str, ...] = tuple(agent.name for agent in AGENTS)
DEFAULT_AGENTS: tuple[str, ...] = ("claude", "opencode", "codex")


class AgentError(UsageError):
    """An agent name or an agent's environment is unusable."""


def parse_agent_list(text: str) -> list[str]:
    """`claude,codex` -> ['claude', 'codex']; unknown names are an error listing the known."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in AGENT_NAMES]
    if unknown:
        raise AgentError(
            f"unknown agent {', '.join(repr(n) for n in unknown)}; "
            f"known agents: {', '.join(AGENT_NAMES)}"
        )
    return list(dict.fromkeys(names))


def _env_path(env: Mapping[str, str], var: str, base: Path) -> Path | None:
    value = env.get(var, "")
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home)


def global_skills_dir(agent: str, env: Mapping[str, str], *, cwd: Path) -> Path:
    """The user-wide skills folder of `agent`, honouring its override variable."""
    home = _home(env)
    if agent == "claude":
        return (_env_path(env, "CLAUDE_CONFIG_DIR", cwd) or home / ".claude") / "skills"
    if agent == "opencode":
        return (_env_path(env, "XDG_CONFIG_HOME", cwd) or home / ".config") / "opencode/skills"
    if agent == "codex":
        return (_env_path(env, "CODEX_HOME", cwd) or home / ".codex") / "skills"
    if agent == "agents":
        return home / ".agents/skills"
    raise AgentError(f"unknown agent {agent!r}; known agents: {', '.join(AGENT_NAMES)}")


def repo_skills_dir(agent: str, repo: Path, env: Mapping[str, str]) -> Path | None:
    """The per-repo skills folder of `agent`, or None when it has none in this environment.

    Codex only gets one when CODEX_HOME is set; a relative CODEX_HOME is taken against the
    repo root, since direnv users write `export CODEX_HOME=.codex`-style values.
    """
    for entry in AGENTS:
        if entry.name == agent:
            if entry.repo_dir is not None:
                return repo / entry.repo_dir
            codex_home = _env_path(env, "CODEX_HOME", repo)
            return codex_home / "skills" if codex_home else None
    raise AgentError(f"unknown agent {agent!r}; known agents: {', '.join(AGENT_NAMES)}")
