"""Which skill folders the real Claude Code, Codex, OpenCode and Gemini CLI read
(docs/agent-paths.md), and that our agent table links each of them only where it reads.

One skill per folder and kind (a plain folder, and a folder symlinked from elsewhere as
`use-skills` makes them), one run of each agent with the default locations and one with
every override variable set. What the agent found is read from its request to the model:
each agent lists every skill it found there, by name and description. A skill that was
only put in the link source folder (never deployed) must not appear. Every folder the table
(src/ai_skills/agents.json) gives that agent, per repo and for the user, must be one it
read, in both runs.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from ai_skills.deploy.agents import global_skills_dir, repo_skills_dir, table

from .clis import OTHER_PINNED, PINNED, Programs, endpoint_env, headless_argv
from .model_server import ModelServer, Request, Script, Text

# Folder key -> where it is, relative to (repo, home, override roots).
REPO = {"repo-claude": ".claude/skills", "repo-opencode": ".opencode/skills",
        "repo-agents": ".agents/skills", "repo-codex": ".codex/skills",
        "repo-gemini": ".gemini/skills"}
USER = {"user-claude": ".claude/skills", "user-opencode": ".config/opencode/skills",
        "user-agents": ".agents/skills", "user-codex": ".codex/skills",
        "user-gemini": ".gemini/skills"}
OVERRIDES = {"env-claude": ("CLAUDE_CONFIG_DIR", "claude-config", "skills"),
             "env-codex": ("CODEX_HOME", "codex-home", "skills"),
             "env-opencode": ("XDG_CONFIG_HOME", "xdg-config", "opencode/skills"),
             # Gemini CLI takes both of its user folders from GEMINI_CLI_HOME (its "home").
             "env-gemini": ("GEMINI_CLI_HOME", "gemini-home", ".gemini/skills"),
             "env-gemini-agents": ("GEMINI_CLI_HOME", "gemini-home", ".agents/skills")}
OVERRIDE_VARS = sorted({var for var, _root, _rel in OVERRIDES.values()})

# What the real programs read (observed with Claude Code 2.1.197, Codex 0.171.0, OpenCode
# 1.18.33 and Gemini CLI 0.61.0; docs/agent-paths.md). With overrides set, the default user
# folder they replace is not read.
SEEN = {
    ("claude", False): {"repo-claude", "user-claude"},
    ("claude", True): {"repo-claude", "env-claude"},
    ("codex", False): {"repo-agents", "repo-codex", "user-agents", "user-codex"},
    ("codex", True): {"repo-agents", "repo-codex", "user-agents", "env-codex"},
    ("opencode", False): {"repo-claude", "repo-opencode", "repo-agents",
                          "user-claude", "user-opencode", "user-agents"},
    # OpenCode reads ~/.claude/skills even when CLAUDE_CONFIG_DIR points elsewhere.
    ("opencode", True): {"repo-claude", "repo-opencode", "repo-agents",
                         "user-claude", "user-agents", "env-opencode"},
    # Gemini CLI reads the repo's folders only in a trusted folder (the run passes
    # --skip-trust, as a headless run must; see clis.OTHER_HEADLESS).
    ("gemini", False): {"repo-gemini", "repo-agents", "user-gemini", "user-agents"},
    ("gemini", True): {"repo-gemini", "repo-agents", "env-gemini", "env-gemini-agents"},
}
# The CLI's name -> its name in the agent table.
TABLE_NAME = {"claude": "claude", "codex": "codex", "opencode": "opencode",
              "gemini": "gemini-cli"}


def _skill(folder: Path, name: str) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: Visibility marker {name}.\n---\nNothing to do.\n"
    )


def _deploy_everywhere(folders: dict[str, Path], store: Path) -> list[str]:
    """A plain skill and a linked skill in each folder; one undeployed skill in the store."""
    names = []
    for key, folder in folders.items():
        _skill(folder, f"v-{key}-plain")
        _skill(store, f"v-{key}-link")
        os.symlink(store / f"v-{key}-link", folder / f"v-{key}-link")
        names += [f"v-{key}-plain", f"v-{key}-link"]
    _skill(store, "v-undeployed")
    return names


def _candidates(repo: Path, home: Path, root: Path, overrides: bool,
                env: dict[str, str]) -> dict[str, Path]:
    """Every candidate folder by key; with `overrides`, sets the variables in `env`."""
    folders = {k: repo / rel for k, rel in REPO.items()}
    folders |= {k: home / rel for k, rel in USER.items()}
    for var in OVERRIDE_VARS:
        env.pop(var, None)
    if overrides:
        for key, (var, sub, rel) in OVERRIDES.items():
            env[var] = str(root / sub)
            folders[key] = root / sub / rel
    return folders


def _listed(agent: str, requests: list[Request]) -> str:
    """The part of the agent's requests that lists the skills it found.

    Gemini CLI also sends the repo's file tree, where every folder name shows; its skills
    are the `<available_skills>` block of its system instruction.
    """
    sent = "\n".join(r.text for r in requests)
    if agent == "gemini":
        return "\n".join(re.findall(r"<available_skills>.*?</available_skills>", sent))
    return sent


def _table_folders(agent: str, repo: Path, env: dict[str, str]) -> dict[str, Path | None]:
    """Where our table links `agent`'s skills in this environment."""
    name = TABLE_NAME[agent]
    return {"per repo": repo_skills_dir(name, repo, env),
            "user": global_skills_dir(name, env) if table().find(name).global_dir else None}


@pytest.mark.parametrize("overrides", [False, True], ids=["defaults", "overrides"])
@pytest.mark.parametrize("agent", sorted(TABLE_NAME))
def test_the_table_links_only_where_the_recorded_runs_saw_skills(
    agent: str, overrides: bool, tmp_path: Path
) -> None:
    """The table against SEEN, without running anything (the slow test checks SEEN)."""
    env = {"HOME": str(tmp_path / "home")}
    folders = _candidates(tmp_path / "repo", tmp_path / "home", tmp_path, overrides, env)
    _assert_table_agrees(agent, folders, SEEN[(agent, overrides)], tmp_path / "repo", env)


def _assert_table_agrees(agent: str, folders: dict[str, Path], seen: set[str], repo: Path,
                         env: dict[str, str]) -> None:
    entry = table().find(TABLE_NAME[agent])
    assert entry is not None
    key_of = {path: key for key, path in folders.items()}
    for what, folder in _table_folders(agent, repo, env).items():
        assert folder is not None, f"{entry.name}: the table has no {what} folder"
        assert key_of.get(folder) in seen, (
            f"agents.json links {entry.name}'s {what} skills into {folder}, which "
            f"{agent} did not read (it read {sorted(seen)})")
    # Links and plain folders were read alike; the table says so, and names the program
    # and the version series the facts were observed with.
    assert entry.follows_symlinks is True, entry.name
    assert agent in entry.programs, entry.name
    series = (PINNED | OTHER_PINNED)[agent]
    assert series in entry.source, f"{entry.name}: source does not name {series}x"


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [False, True], ids=["defaults", "overrides"])
@pytest.mark.parametrize("agent", ["claude", "codex", "opencode", "gemini"])
def test_agent_reads_these_skill_folders(
    agent: str,
    overrides: bool,
    programs: Programs,
    agent_env: dict[str, str],
    server: ModelServer,
    git_repo: Path,
    tmp_path: Path,
    versions: dict[str, str],
) -> None:
    home = Path(agent_env["HOME"])
    env = dict(agent_env)
    folders = _candidates(git_repo, home, tmp_path, overrides, env)
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    names = _deploy_everywhere(folders, tmp_path / "store")
    server.script = Script([Text("Nothing to do.")])
    env |= endpoint_env(agent, server.url, env) | {"PWD": str(git_repo)}

    proc = subprocess.run(
        [*headless_argv(programs, agent), "List your skills."],
        cwd=git_repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=180,
    )

    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    sent = _listed(agent, server.main_requests())
    assert sent, f"{agent} sent no request with tools and skills"
    seen = {key for key in folders for kind in ("plain", "link") if f"v-{key}-{kind}" in sent}
    both = {key for key in folders if f"v-{key}-plain" in sent and f"v-{key}-link" in sent}
    print(f"{agent} {versions[agent]} {'overrides' if overrides else 'defaults'}: {sorted(seen)}")
    assert seen == SEEN[(agent, overrides)], sorted(n for n in names if n in sent)
    assert both == seen, "a linked folder and a plain one are read alike"
    assert "v-undeployed" not in sent
    _assert_table_agrees(agent, folders, seen, git_repo, env)
