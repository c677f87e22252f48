"""`ai-skills deploy --global` on a real (temporary) home directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai_skills.deploy.global_deploy import NothingSelectedError, deploy_global
from tests.helpers import links_under, make_catalog

AI_SKILLS = str(Path(sys.executable).parent / "ai-skills")


@pytest.fixture
def env(isolated_home: Path, tmp_path: Path) -> dict[str, str]:
    catalog = make_catalog(tmp_path / "catalog", ["alpha", "beta"])
    return dict(os.environ, AI_SKILLS_PATH=str(catalog))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AI_SKILLS, "deploy", "--global", *args], env=env,
                          capture_output=True, text=True)


def test_links_one_folder_per_skill_per_agent(env: dict[str, str], isolated_home: Path) -> None:
    codex_system = isolated_home / ".codex/skills/.system"
    codex_system.mkdir(parents=True)
    result = cli(env, "--skill", "alpha", "--skill", "beta")
    assert result.returncode == 0, result.stderr
    assert set(links_under(isolated_home)) == {
        f"{d}/{n}" for d in (".claude/skills", ".config/opencode/skills", ".codex/skills")
        for n in ("alpha", "beta")
    }
    assert codex_system.is_dir() and not codex_system.is_symlink()
    again = cli(env, "--skill", "alpha", "--skill", "beta")
    assert (again.returncode, again.stderr) == (0, "")


def test_env_overrides_move_the_targets(env: dict[str, str], tmp_path: Path) -> None:
    env["CLAUDE_CONFIG_DIR"] = str(tmp_path / "claude-config")
    env["CODEX_HOME"] = str(tmp_path / "codex home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert cli(env, "--skill", "alpha").returncode == 0
    for folder in ("claude-config/skills", "codex home/skills", "xdg/opencode/skills"):
        assert (tmp_path / folder / "alpha").is_symlink()


def test_selection_file_is_used_when_no_skill_option(env: dict[str, str],
                                                     isolated_home: Path) -> None:
    config = Path(env["XDG_CONFIG_HOME"]) / "ai-skills"
    config.mkdir(parents=True)
    (config / "skills").write_text("# mine\nbeta\n")
    report = deploy_global(env, agents=["claude"], dry_run=False)
    assert [s.target.name for s in report.done] == ["beta"]


def test_nothing_selected_says_how_to_select(env: dict[str, str]) -> None:
    with pytest.raises(NothingSelectedError, match="pass --skill NAME, or list names in"):
        deploy_global(env, agents=["claude"], dry_run=False)
    result = cli(env)
    assert result.returncode == 1
    assert result.stderr.startswith("ai-skills: error: no skills selected")


def test_user_folder_at_target_is_untouched_and_reported(env: dict[str, str],
                                                         isolated_home: Path) -> None:
    mine = isolated_home / ".claude/skills/alpha"
    mine.mkdir(parents=True)
    (mine / "SKILL.md").write_text("my version\n")
    result = cli(env, "--skill", "alpha", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["refused"][0]["target"] == str(mine)
    assert (mine / "SKILL.md").read_text() == "my version\n"


def test_check_and_unknown_skill(env: dict[str, str]) -> None:
    assert cli(env, "--skill", "alpha", "--check").returncode == 1
    assert cli(env, "--skill", "alpha").returncode == 0
    assert cli(env, "--skill", "alpha", "--check").returncode == 0
    bad = cli(env, "--skill", "alpah")
    assert bad.returncode == 1
    assert "unknown skill 'alpah' (did you mean 'alpha'?)" in bad.stderr


def test_same_result_as_the_module_selection(env: dict[str, str], isolated_home: Path) -> None:
    from ai_skills.deploy.global_selection import select_global

    selection = select_global([Path(env["AI_SKILLS_PATH"])],
                              {a: ["alpha"] for a in ("claude", "opencode", "codex")}, env)
    cli(env, "--skill", "alpha")
    made = {isolated_home / p: Path(t) for p, t in links_under(isolated_home).items()}
    assert made == selection.links
