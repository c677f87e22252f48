"""Catalog search order and shadowing; the agent table's environment resolution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai_skills.deploy.agents import AgentError, global_skills_dir, parse_agent_list, repo_skills_dir
from ai_skills.skills.catalog import CatalogDir, find_skill, list_catalog, search_path
from tests.helpers import make_catalog


def test_search_order_is_path_then_installed_then_bundled(tmp_path: Path) -> None:
    env = {"AI_SKILLS_PATH": f"{tmp_path}/one:{tmp_path}/two", "HOME": str(tmp_path / "h")}
    origins = [(d.origin, d.path) for d in search_path(env, repo=tmp_path / "repo")]
    assert origins[:4] == [
        ("AI_SKILLS_PATH", tmp_path / "one"),
        ("AI_SKILLS_PATH", tmp_path / "two"),
        ("installed (repo)", tmp_path / "repo/.ai-skills/skills"),
        ("installed (user)", tmp_path / "h/.local/share/ai-skills/skills"),
    ]
    assert origins[-1][0] == "bundled"


def test_first_match_wins_and_shadowing_is_reported(tmp_path: Path) -> None:
    one = CatalogDir(make_catalog(tmp_path / "one", ["alpha"]), "first")
    two = CatalogDir(make_catalog(tmp_path / "two", ["alpha", "beta"]), "second")
    (tmp_path / "two" / "not-a-skill").mkdir()
    found = find_skill("alpha", [one, two])
    assert found is not None and found.path == one.path / "alpha"
    entries = {e.name: e for e in list_catalog([one, two])}
    assert sorted(entries) == ["alpha", "beta"]
    assert entries["alpha"].shadows == (two,)
    assert entries["beta"].origin == "second"


def test_list_command_shows_origin_and_shadows(tmp_path: Path) -> None:
    one = make_catalog(tmp_path / "one", ["review-gate"])
    env = dict(os.environ, AI_SKILLS_PATH=str(one))
    result = subprocess.run([str(Path(sys.executable).parent / "ai-skills"), "list", "--json"],
                            env=env, capture_output=True, text=True, cwd=tmp_path)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["review-gate"]["origin"] == "AI_SKILLS_PATH"
    assert rows["review-gate"]["shadows"][0].endswith("skills/review-gate")
    assert rows["review-gate"]["valid"] is True


def test_agent_folders_follow_their_override_variables() -> None:
    env = {"HOME": "/home/u"}
    assert global_skills_dir("claude", env) == Path("/home/u/.claude/skills")
    assert global_skills_dir("opencode", env) == Path("/home/u/.config/opencode/skills")
    assert global_skills_dir("codex", env) == Path("/home/u/.codex/skills")
    env = {"HOME": "/home/u", "CLAUDE_CONFIG_DIR": "/c", "XDG_CONFIG_HOME": "/x",
           "CODEX_HOME": "/k"}
    assert global_skills_dir("claude", env) == Path("/c/skills")
    assert global_skills_dir("opencode", env) == Path("/x/opencode/skills")
    assert global_skills_dir("codex", env) == Path("/k/skills")


def test_per_repo_codex_uses_codex_home_when_set_else_the_shared_folder(tmp_path: Path) -> None:
    assert repo_skills_dir("codex", tmp_path, {}) == tmp_path / ".agents/skills"
    assert repo_skills_dir("codex", tmp_path, {"CODEX_HOME": "/k"}) == Path("/k/skills")
    assert repo_skills_dir("claude", tmp_path, {"CLAUDE_CONFIG_DIR": "/c"}) == tmp_path / (
        ".claude/skills")


def test_agent_list_parsing() -> None:
    assert parse_agent_list(" claude, codex ,claude") == ["claude", "codex"]
    assert parse_agent_list("claude-code gemini,cursor") == ["claude", "gemini-cli", "cursor"]
    with pytest.raises(AgentError, match="unknown agent 'curser' \\(did you mean 'cursor'\\?\\)"):
        parse_agent_list("claude,curser")

