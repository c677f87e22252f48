"""Where each agent reads skills: the table in `agents.json`, resolved against an environment.

The table is data so that adding an agent is one entry, and so that the Nix module can read
the same file with `builtins.fromJSON`; docs/agent-paths.md describes its fields. This
module only reads it: json and NamedTuples, no pydantic, because `use-skills` loads it on
every sync that is not a proven no-op.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ai_skills.errors import UsageError

TABLE_FILE = "agents.json"


class Location(NamedTuple):
    """`$env/subpath` when `env` is set, else `default/subpath` (`default` starts with `~`)."""

    env: str | None
    default: str
    subpath: str


class Override(NamedTuple):
    """A variable that, when set, moves an agent's per-repo folder to `$env/subpath`."""

    env: str
    subpath: str


class Agent(NamedTuple):
    """One agent's row of the table."""

    name: str
    aliases: tuple[str, ...]
    display_name: str
    project_dir: str | None  # relative to the repo root
    project_override: Override | None
    global_dir: Location | None
    detect: tuple[Location, ...]  # folders whose presence says the agent is installed
    programs: tuple[str, ...]  # its executables, where known
    follows_symlinks: bool | None  # None: not checked
    source: str
    note: str | None

    @property
    def env_vars(self) -> tuple[str, ...]:
        """The variables that move this agent's folders."""
        found = [self.project_override.env if self.project_override else None,
                 self.global_dir.env if self.global_dir else None]
        return tuple(dict.fromkeys(var for var in found if var))


class AgentTable(NamedTuple):
    """The whole table: agents in display order, and the default choice."""

    agents: tuple[Agent, ...]
    defaults: tuple[str, ...]
    checked: str
    npx_skills: str

    def find(self, name: str) -> Agent | None:
        """The agent called `name` (or with `name` as an alias), else None."""
        for agent in self.agents:
            if name == agent.name or name in agent.aliases:
                return agent
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """Every agent's name, in table order."""
        return tuple(agent.name for agent in self.agents)


class AgentError(UsageError):
    """An agent name or an agent's environment is unusable."""


def _location(data: Mapping[str, Any] | None) -> Location | None:
    if data is None:
        return None
    return Location(data["env"], data["default"], data["subpath"])


def _agent(data: Mapping[str, Any]) -> Agent:
    override = data.get("project_override")
    return Agent(
        name=data["name"],
        aliases=tuple(data["aliases"]),
        display_name=data["display_name"],
        project_dir=data["project_dir"],
        project_override=Override(override["env"], override["subpath"]) if override else None,
        global_dir=_location(data["global_dir"]),
        detect=tuple(loc for loc in map(_location, data["detect"]) if loc is not None),
        programs=tuple(data["programs"]),
        follows_symlinks=data["follows_symlinks"],
        source=data["source"],
        note=data["note"],
    )


@functools.cache
def table() -> AgentTable:
    """The agent table shipped with the package (read once per process)."""
    # A plain file at the package root (wheel, editable install and Nix alike); importlib's
    # resources machinery costs more to import than the whole table costs to read.
    table_file = Path(__file__).resolve().parents[1] / TABLE_FILE
    data = json.loads(table_file.read_text(encoding="utf-8"))
    return AgentTable(
        agents=tuple(_agent(entry) for entry in data["agents"]),
        defaults=tuple(data["defaults"]),
        checked=data["checked"],
        npx_skills=data["npx_skills"],
    )


def agent(name: str) -> Agent:
    """The agent called `name` or aliased so; an unknown name is an error naming the closest."""
    found = table().find(name)
    if found is None:
        raise AgentError(_unknown_message([name]))
    return found


def _unknown_message(names: list[str]) -> str:
    import difflib

    known = [n for a in table().agents for n in (a.name, *a.aliases)]
    hints = []
    # Names come from files strangers write (a `.skills` line): a bounded piece of a few.
    for name in names[:3]:
        shown = name if len(name) <= 40 else name[:40] + "..."
        close = difflib.get_close_matches(name[:64], known, n=1)
        hints.append(f"{shown!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return (f"unknown agent {', '.join(hints)}{more}; `ai-skills agents` lists the "
            f"{len(table().agents)} known agents")


def canonical_names(names: Iterable[str]) -> list[str]:
    """Table names for `names` (aliases resolved, each once, in order); unknown is an error."""
    names = list(names)
    unknown = [name for name in names if table().find(name) is None]
    if unknown:
        raise AgentError(_unknown_message(unknown))
    return list(dict.fromkeys(agent(name).name for name in names))


def parse_agent_list(text: str) -> list[str]:
    """`claude-code, gemini` -> ['claude', 'gemini-cli']; commas and/or spaces separate."""
    return canonical_names(text.replace(",", " ").split())


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _expand(path: str, env: Mapping[str, str]) -> str:
    """`~` and `~/x` against the environment's HOME (not the process's)."""
    if path == "~" or path.startswith("~/"):
        return _home(env) + path[1:]
    return path


def env_folder(env: Mapping[str, str], var: str) -> Path | None:
    """The absolute folder in `$var`, or None when it is unset or empty.

    A relative value is never taken against the current folder: the XDG spec says to ignore
    a relative `XDG_*` value, and a relative agent home (`CODEX_HOME=.codex`) would give
    links that dangle as soon as the agent runs from another folder, so it is refused.
    """
    value = env.get(var, "")
    if not value:
        return None
    path = _expand(value, env)
    if os.path.isabs(path):
        return Path(os.path.normpath(path))
    if var.startswith("XDG_"):
        return None
    raise AgentError(
        f"{var}={value!r} is a relative path; agents would read it from whatever folder they "
        f"run in. Set it to an absolute folder (in .envrc: `export {var}=$PWD/{value}`)"
    )


def resolve_location(location: Location, env: Mapping[str, str]) -> Path:
    """The folder a table location names in this environment."""
    base = env_folder(env, location.env) if location.env else None
    if base is None:
        base = Path(os.path.normpath(_expand(location.default, env)))
    return base / location.subpath if location.subpath else base


def global_skills_dir(name: str, env: Mapping[str, str]) -> Path:
    """The user-wide skills folder of agent `name`, honouring its override variable."""
    entry = agent(name)
    if entry.global_dir is None:
        raise AgentError(f"{entry.display_name} ({entry.name}) has no user-wide skills folder; "
                         "deploy it per repo with use-skills")
    return resolve_location(entry.global_dir, env)


def repo_skills_dir(name: str, repo: Path, env: Mapping[str, str]) -> Path | None:
    """The per-repo skills folder of agent `name`: its override when set, else its folder."""
    entry = agent(name)
    if entry.project_override is not None:
        base = env_folder(env, entry.project_override.env)
        if base is not None:
            return base / entry.project_override.subpath
    return repo / entry.project_dir if entry.project_dir is not None else None


def default_agents(env: Mapping[str, str]) -> list[str]:
    """The agents a repo gets when it chooses none.

    An agent with a per-repo override (Codex, CODEX_HOME) is included only when the override
    is set: by default Codex gets $CODEX_HOME/skills, as it always has, and a repo that never
    asked for the shared .agents/skills does not get it. (A set but unusable value is
    included, so that resolving it reports why.)
    """
    chosen = []
    for name in table().defaults:
        override = agent(name).project_override
        if override is None or env.get(override.env):
            chosen.append(name)
    return chosen


def all_repo_dirs(repo: Path, env: Mapping[str, str]) -> list[Path]:
    """Every distinct per-repo skills folder of the table (unresolvable overrides skipped)."""
    folders: dict[Path, None] = {}
    for entry in table().agents:
        try:
            folder = repo_skills_dir(entry.name, repo, env)
        except AgentError:
            continue
        if folder is not None:
            folders[folder] = None
    return list(folders)


def all_global_dirs(env: Mapping[str, str]) -> list[Path]:
    """Every distinct user-wide skills folder of the table (unresolvable ones skipped)."""
    folders: dict[Path, None] = {}
    for entry in table().agents:
        if entry.global_dir is None:
            continue
        try:
            folders[resolve_location(entry.global_dir, env)] = None
        except AgentError:
            continue
    return list(folders)
