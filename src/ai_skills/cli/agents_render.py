"""How `ai-skills agents` shows the agent table: lines for people, JSON, or docs/agent-paths.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_skills.deploy.agent_status import AgentStatus, location_text, project_text, shown_dir
from ai_skills.deploy.agents import Agent, AgentTable

DOC_TEMPLATE = Path(__file__).parent.parent / "templates" / "agent-paths.md"
TABLE_MARK = "{{agent table}}"


def as_json(rows: list[AgentStatus], repo: Path | None) -> list[dict[str, Any]]:
    """One object per agent: the folders resolved now, then the table's own facts."""
    return [
        {
            "name": row.agent.name,
            "aliases": list(row.agent.aliases),
            "display_name": row.agent.display_name,
            "project_dir": shown_dir(row.project_dir, repo),
            "global_dir": shown_dir(row.global_dir, None),
            "problem": row.problem,
            "installed": row.installed_by is not None,
            "installed_by": row.installed_by,
            "project_rule": project_text(row.agent),
            "global_rule": location_text(row.agent.global_dir) if row.agent.global_dir else None,
            "env": list(row.agent.env_vars),
            "follows_symlinks": row.agent.follows_symlinks,
            "source": row.agent.source,
            "note": row.agent.note,
        }
        for row in rows
    ]


def as_lines(rows: list[AgentStatus], repo: Path | None) -> list[str]:
    """A column per fact; `*` marks agents with a note (how ours differs; see --json)."""
    table = [("agent", "installed", "repo folder", "user folder")]
    for row in rows:
        name = row.agent.name + ("*" if row.agent.note else "")
        if row.problem:
            folders = (f"error: {row.problem}", "")
        else:
            folders = (shown_dir(row.project_dir, repo) or "-",
                       shown_dir(row.global_dir, None) or "-")
        table.append((name, "yes" if row.installed_by else "", *folders))
    # An error message is one long cell: it does not set the width of its column.
    widths = [max(len(r[i]) for r in table if not r[2].startswith("error: ")) for i in range(3)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(r))
             .rstrip() for r in table]
    where = f"repo {repo}" if repo else "outside a repo (repo folders are relative)"
    lines.append(f"{len(rows)} agents, {where}. *: see its note (ai-skills agents --json); "
                 "aliases are accepted wherever an agent is named.")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _agent_row(agent: Agent) -> str:
    names = f"`{agent.name}`" + "".join(f", `{a}`" for a in agent.aliases)
    user = f"`{location_text(agent.global_dir)}`" if agent.global_dir else "none"
    facts = agent.source + (f" **Ours differs:** {agent.note}" if agent.note else "")
    cells = [agent.display_name, names, f"`{project_text(agent)}`", user, facts]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def as_markdown(agents: AgentTable) -> str:
    """docs/agent-paths.md: the prose of its template around one row per agent."""
    header = [
        "| agent | names | per-repo folder | user folder | source |",
        "|---|---|---|---|---|",
    ]
    rows = "\n".join(header + [_agent_row(agent) for agent in agents.agents])
    text = DOC_TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("{{checked}}", agents.checked).replace("{{npx}}", agents.npx_skills)
    return text.replace(TABLE_MARK, rows)
