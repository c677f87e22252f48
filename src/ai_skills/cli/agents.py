"""`ai-skills agents`: every agent the table knows, with its folders resolved here and now."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ai_skills.cli.render import render


def agents(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a list of objects on stdout.")
    ] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print docs/agent-paths.md (generated from the "
                           "table; nothing here is resolved).")
    ] = False,
) -> None:
    """List every agent ai-skills can link skills for, with its folders resolved now.

    For each agent: the per-repo skills folder (for the repo you are in), the user-wide
    one (after CLAUDE_CONFIG_DIR, CODEX_HOME, XDG_CONFIG_HOME, ...), and whether it looks
    installed (its program on PATH, or its own folder exists). Any name or alias shown
    here works with --agents, in a `.skills` `agents:` line and in AI_SKILLS_AGENTS.
    """
    from ai_skills.cli import agents_render
    from ai_skills.deploy.agent_status import describe_agents
    from ai_skills.deploy.agents import table
    from ai_skills.deploy.fastpath import find_repo_root

    if markdown:
        sys.stdout.write(agents_render.as_markdown(table()))
        return
    root = find_repo_root(os.getcwd())
    repo = Path(root) if root else None
    rows = describe_agents(os.environ, repo)
    render(agents_render.as_json(rows, repo), as_json=as_json,
           lines=lambda: agents_render.as_lines(rows, repo))


def register(app: typer.Typer) -> None:
    """Add this command to the `ai-skills` app."""
    app.command("agents")(agents)
