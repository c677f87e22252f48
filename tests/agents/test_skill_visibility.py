"""Which skill folders the real Claude Code, Codex and OpenCode read (docs/agent-paths.md).

One skill per folder and kind (a plain folder, and a folder symlinked from elsewhere as
`use-skills` makes them), one run of each agent with the default locations and one with
every override variable set. What the agent found is read from its request to the model:
each agent lists every skill it found there, by name and description. A skill that was
only put in the link source folder (never deployed) must not appear.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .clis import Programs, endpoint_env, headless_argv
from .model_server import ModelServer, Script, Text

# Folder key -> where it is, relative to (repo, home, override roots).
REPO = {"repo-claude": ".claude/skills", "repo-opencode": ".opencode/skills",
        "repo-agents": ".agents/skills", "repo-codex": ".codex/skills"}
USER = {"user-claude": ".claude/skills", "user-opencode": ".config/opencode/skills",
        "user-agents": ".agents/skills", "user-codex": ".codex/skills"}
OVERRIDES = {"env-claude": ("CLAUDE_CONFIG_DIR", "claude-config", "skills"),
             "env-codex": ("CODEX_HOME", "codex-home", "skills"),
             "env-opencode": ("XDG_CONFIG_HOME", "xdg-config", "opencode/skills")}

# What the real programs read (observed with Claude Code 2.1.197, Codex 0.171.0 and
# OpenCode 1.18.33; docs/agent-paths.md). With overrides set, the default user folder they
# replace is not read.
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
}


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


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [False, True], ids=["defaults", "overrides"])
@pytest.mark.parametrize("agent", ["claude", "codex", "opencode"])
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
    env = {k: v for k, v in agent_env.items()
           if k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME")}
    folders = {k: git_repo / rel for k, rel in REPO.items()}
    folders |= {k: home / rel for k, rel in USER.items()}
    if overrides:
        for key, (var, root, rel) in OVERRIDES.items():
            env[var] = str(tmp_path / root)
            folders[key] = tmp_path / root / rel
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
    sent = "\n".join(r.text for r in server.main_requests())
    assert sent, f"{agent} sent no request with tools"
    seen = {key for key in folders for kind in ("plain", "link") if f"v-{key}-{kind}" in sent}
    both = {key for key in folders if f"v-{key}-plain" in sent and f"v-{key}-link" in sent}
    print(f"{agent} {versions[agent]} {'overrides' if overrides else 'defaults'}: {sorted(seen)}")
    assert seen == SEEN[(agent, overrides)], sorted(n for n in names if n in sent)
    assert both == seen, "a linked folder and a plain one are read alike"
    assert "v-undeployed" not in sent
