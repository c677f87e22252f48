"""Choosing agents: `.skills`' `agents:` line, AI_SKILLS_AGENTS, `--agents` on every command,
and several agents sharing one folder (one link, owned once)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ai_skills.deploy.engine import read_record
from ai_skills.deploy.manifest import parse_manifest
from ai_skills.deploy.manifest_edit import set_agents
from ai_skills.deploy.use_skills import state_dir_for, sync_repo
from tests.helpers import links_under, make_catalog
from tests.source_repos import make_source, url_of
from tests.test_use_skills import run_use_skills

AI_SKILLS = str(Path(sys.executable).parent / "ai-skills")


def ai_skills(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AI_SKILLS, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return make_catalog(tmp_path / "catalog", ["alpha", "beta"])


@pytest.fixture
def env(catalog: Path) -> dict[str, str]:
    return dict(os.environ, AI_SKILLS_PATH=str(catalog))


# ---- the `agents:` line ---------------------------------------------------------------------

def test_manifest_reads_one_agents_line_and_reports_a_second() -> None:
    manifest = parse_manifest("# team\nagents: claude, cursor gemini-cli  # why\nalpha\n")
    assert manifest.agents is not None
    assert (manifest.agents.names, manifest.agents.line) == (
        ["claude", "cursor", "gemini-cli"], 2)
    assert manifest.names == ["alpha"] and manifest.problems == []
    twice = parse_manifest("agents: claude\nagents: cursor\n")
    assert [(p.line, p.severity) for p in twice.problems] == [(2, "error")]
    assert "a second `agents:` line" in twice.problems[0].message
    assert "names no agent" in parse_manifest("agents:\n").problems[0].message


def test_set_agents_rewrites_one_line_or_inserts_it_first(tmp_path: Path) -> None:
    path = tmp_path / ".skills"
    path.write_bytes(b"alpha\r\n# keep me\nbeta")
    assert set_agents(path, ["claude", "cursor"])
    assert path.read_bytes() == b"agents: claude, cursor\nalpha\r\n# keep me\nbeta"
    path.write_bytes(b"alpha\nagents: claude   # the team's\nbeta\n")
    assert set_agents(path, ["claude", "gemini-cli"])
    assert path.read_bytes() == b"alpha\nagents: claude, gemini-cli  # the team's\nbeta\n"
    assert not set_agents(path, ["claude", "gemini-cli"])


def test_agents_line_chooses_the_folders_and_shared_ones_get_one_link(
    git_repo: Path, env: dict[str, str], catalog: Path
) -> None:
    (git_repo / ".skills").write_text("agents: cursor, gemini-cli, codex, github-copilot\nalpha\n")
    report = sync_repo(git_repo, env)
    assert report.errors == []
    assert links_under(git_repo) == {".agents/skills/alpha": str(catalog / "alpha")}
    assert [str(s.target.relative_to(git_repo)) for s in report.done] == [".agents/skills/alpha"]
    record = read_record(state_dir_for(git_repo, env) / "links.json")
    assert list(record.links) == [str(git_repo / ".agents/skills/alpha")]
    assert sync_repo(git_repo, env).done == []


def test_one_off_agents_do_not_fight_over_a_shared_folder(
    git_repo: Path, env: dict[str, str], catalog: Path
) -> None:
    (git_repo / ".skills").write_text("alpha\nbeta\n")
    sync_repo(git_repo, env, agents=["cursor"])
    (git_repo / ".skills").write_text("alpha\n")
    # gemini-cli reads the folder cursor was given: it manages it now, beta goes once.
    done = sync_repo(git_repo, env, agents=["gemini-cli"]).done
    assert [(s.action.value, s.target.name) for s in done] == [("remove", "beta")]
    for agents in (["cursor"], ["gemini-cli"], ["cursor", "gemini-cli"]):
        assert sync_repo(git_repo, env, agents=agents).done == []
    assert links_under(git_repo) == {".agents/skills/alpha": str(catalog / "alpha")}


def test_changing_the_line_unlinks_agents_no_longer_chosen(
    git_repo: Path, env: dict[str, str]
) -> None:
    (git_repo / ".skills").write_text("agents: claude, cursor\nalpha\n")
    sync_repo(git_repo, env)
    (git_repo / ".skills").write_text("agents: cursor\nalpha\n")
    sync_repo(git_repo, env)
    assert set(links_under(git_repo)) == {".agents/skills/alpha"}


def test_a_typo_on_the_line_is_reported_and_unlinks_nothing(
    git_repo: Path, env: dict[str, str]
) -> None:
    (git_repo / ".skills").write_text("alpha\n")
    sync_repo(git_repo, env)
    (git_repo / ".skills").write_text("agents: claude, curser\nalpha\n")
    report = sync_repo(git_repo, env)
    assert report.errors == [
        ".skills:1: unknown agent 'curser' (did you mean 'cursor'?); `ai-skills agents` "
        "lists the 80 known agents"
    ]
    assert set(links_under(git_repo)) == {".claude/skills/alpha", ".opencode/skills/alpha"}


def test_environment_beats_the_line_and_the_option_beats_both(
    git_repo: Path, env: dict[str, str]
) -> None:
    (git_repo / ".skills").write_text("agents: cursor\nalpha\n")
    env["AI_SKILLS_AGENTS"] = "roo"
    assert run_use_skills(git_repo, env).returncode == 0
    assert set(links_under(git_repo)) == {".roo/skills/alpha"}
    assert run_use_skills(git_repo, env, "--agents", "claude").returncode == 0
    assert set(links_under(git_repo)) == {".roo/skills/alpha", ".claude/skills/alpha"}
    env["AI_SKILLS_AGENTS"] = "nobody"
    bad = run_use_skills(git_repo, env)
    assert bad.returncode == 2
    assert bad.stderr.startswith("use-skills: error: AI_SKILLS_AGENTS: unknown agent 'nobody'")


def test_quiet_path_notices_the_agents_variable_and_line(
    git_repo: Path, env: dict[str, str]
) -> None:
    (git_repo / ".skills").write_text("alpha\n")
    run_use_skills(git_repo, env)
    assert run_use_skills(git_repo, env).stderr == ""
    env["AI_SKILLS_AGENTS"] = "claude,cursor"
    assert "linked .agents/skills/alpha" in run_use_skills(git_repo, env).stderr
    del env["AI_SKILLS_AGENTS"]
    run_use_skills(git_repo, env)
    (git_repo / ".skills").write_text("agents: zed\nalpha\n")
    assert "linked .agents/skills/alpha" in run_use_skills(git_repo, env).stderr


# ---- ai-skills add / install / deploy --global with --agents -------------------------------

def test_add_with_agents_links_the_shared_folder_and_keeps_it(
    git_repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    source = make_source(tmp_path / "source", ["alpha", "beta"])
    result = ai_skills(git_repo, env, "add", url_of(source), "-s", "alpha",
                       "--agents", "cursor,gemini-cli")
    assert result.returncode == 0, result.stderr
    link = git_repo / ".agents/skills/alpha"
    assert link.is_symlink() and (link / "SKILL.md").is_file()
    assert (git_repo / ".skills").read_text() == (
        "agents: claude, opencode, codex, cursor, gemini-cli\nalpha\n")
    # The next direnv reload keeps it: the choice lives in .skills now. A teammate with
    # CODEX_HOME set gets Codex there too: the line names every default agent.
    assert run_use_skills(git_repo, env).returncode == 0
    assert link.is_symlink()
    env["CODEX_HOME"] = str(git_repo / ".codex")
    assert run_use_skills(git_repo, env).returncode == 0
    assert set(links_under(git_repo)) == {
        f"{folder}/alpha" for folder in (".ai-skills/skills", ".claude/skills",
                                         ".opencode/skills", ".codex/skills", ".agents/skills")}


def test_add_with_agents_already_chosen_leaves_skills_alone(
    git_repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    source = make_source(tmp_path / "source", ["alpha"])
    (git_repo / ".skills").write_text("# ours\n")
    result = ai_skills(git_repo, env, "add", url_of(source), "--agents", "claude-code")
    assert result.returncode == 0, result.stderr
    assert (git_repo / ".skills").read_text() == "# ours\nalpha\n"


def test_install_with_agents_adds_them_in_a_repo_and_for_the_user(
    git_repo: Path, env: dict[str, str], tmp_path: Path, isolated_home: Path
) -> None:
    source = make_source(tmp_path / "source", ["alpha"])
    assert ai_skills(git_repo, env, "add", url_of(source)).returncode == 0
    result = ai_skills(git_repo, env, "install", "--agents", "roo")
    assert result.returncode == 0, result.stderr
    assert (git_repo / ".roo/skills/alpha").is_symlink()
    assert (git_repo / ".skills").read_text().startswith(
        "agents: claude, opencode, codex, roo\n")

    assert ai_skills(git_repo, env, "add", "--global", url_of(source)).returncode == 0
    result = ai_skills(git_repo, env, "install", "--global", "--agents", "gemini")
    assert result.returncode == 0, result.stderr
    assert (isolated_home / ".gemini/skills/alpha").is_symlink()
    assert (isolated_home / ".claude/skills/alpha").is_symlink()
    lock = json.loads((Path(env["XDG_CONFIG_HOME"]) / "ai-skills/lock.json").read_text())
    assert lock["skills"]["alpha"]["agents"] == ["claude", "opencode", "codex", "gemini-cli"]


def test_deploy_global_for_an_agent_of_the_table(env: dict[str, str],
                                                  isolated_home: Path) -> None:
    result = ai_skills(isolated_home, env, "deploy", "--global", "--skill", "alpha",
                       "--agents", "gemini-cli")
    assert result.returncode == 0, result.stderr
    assert set(links_under(isolated_home)) == {".gemini/skills/alpha"}


def test_deploy_global_shared_user_folder_one_link_and_no_fight(
    env: dict[str, str], isolated_home: Path
) -> None:
    deploy = ("deploy", "--global", "--skill", "alpha")
    assert ai_skills(isolated_home, env, *deploy, "--agents", "cline,warp,zed").returncode == 0
    assert set(links_under(isolated_home)) == {".agents/skills/alpha"}
    again = ai_skills(isolated_home, env, *deploy, "--agents", "warp", "--check")
    assert (again.returncode, again.stderr) == (0, "")
    # beta for cline alone: cline's folder is warp's too, so alpha, no longer asked for, goes.
    moved = ai_skills(isolated_home, env, "deploy", "--global", "--skill", "beta",
                      "--agents", "cline")
    assert moved.returncode == 0, moved.stderr
    assert set(links_under(isolated_home)) == {".agents/skills/beta"}


def test_deploy_global_reads_the_agents_line_of_the_user_skills_file(
    env: dict[str, str], isolated_home: Path
) -> None:
    config = Path(env["XDG_CONFIG_HOME"]) / "ai-skills"
    config.mkdir(parents=True)
    (config / "skills").write_text("agents: claude-code, cursor\nalpha\n")
    result = ai_skills(isolated_home, env, "deploy", "--global")
    assert result.returncode == 0, result.stderr
    assert set(links_under(isolated_home)) == {".claude/skills/alpha", ".cursor/skills/alpha"}


def test_a_relative_codex_home_stops_a_global_deploy_with_one_line(
    env: dict[str, str], isolated_home: Path
) -> None:
    env["CODEX_HOME"] = ".codex"
    result = ai_skills(isolated_home, env, "deploy", "--global", "--skill", "alpha")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ai-skills: error: CODEX_HOME='.codex' is a relative path; agents would read it from "
        "whatever folder they run in. Set it to an absolute folder (in .envrc: "
        "`export CODEX_HOME=$PWD/.codex`)"
    ]
    assert links_under(isolated_home) == {}


# ---- ai-skills agents -------------------------------------------------------------------------

def test_agents_json_resolves_folders_and_sees_installed_agents(
    git_repo: Path, env: dict[str, str], isolated_home: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gemini = bin_dir / "gemini"
    gemini.write_text("#!/bin/sh\n")
    gemini.chmod(gemini.stat().st_mode | stat.S_IXUSR)
    (isolated_home / ".cursor").mkdir()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["CLAUDE_CONFIG_DIR"] = str(tmp_path / "claude-dir")
    result = ai_skills(git_repo / ".", env, "agents", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert len(rows) == 80
    for row in rows.values():
        assert {"name", "aliases", "project_dir", "global_dir", "note"} <= set(row)
    assert rows["claude"]["aliases"] == ["claude-code"]
    assert rows["claude"]["global_dir"] == str(tmp_path / "claude-dir/skills")
    assert rows["claude"]["project_dir"] == ".claude/skills"
    assert rows["gemini-cli"]["installed_by"] == "program gemini"
    assert rows["cursor"]["installed_by"] == f"folder {isolated_home / '.cursor'}"
    assert rows["roo"]["installed"] is False
    assert rows["opencode"]["note"] and rows["cursor"]["note"] is None


def test_agents_text_lists_every_agent_and_markdown_is_the_doc(
    git_repo: Path, env: dict[str, str]
) -> None:
    text = ai_skills(git_repo, env, "agents")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["agent", "installed", "repo", "folder", "user", "folder"]
    assert len(lines) == 82 and lines[-1].startswith("80 agents, repo ")
    markdown = ai_skills(git_repo, env, "agents", "--markdown")
    root = Path(__file__).resolve().parent.parent
    assert markdown.stdout == (root / "docs/agent-paths.md").read_text(encoding="utf-8")


def test_a_huge_hostile_agents_line_costs_one_short_error(
    git_repo: Path, env: dict[str, str]
) -> None:
    names = " ".join(f"bogus{i}-{'x' * 200}" for i in range(20000))
    (git_repo / ".skills").write_text(f"agents: claude {names}\nalpha\n")
    report = sync_repo(git_repo, env)
    assert len(report.errors) == 1 and len(report.errors[0]) < 400
    assert report.errors[0].endswith("and 19997 more; `ai-skills agents` lists the 80 known "
                                     "agents")
    assert set(links_under(git_repo)) == {".claude/skills/alpha"}
