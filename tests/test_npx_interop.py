"""Interop with the real `skills` npm CLI (1.7.x): we read its locks, it reads our deploys."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ai_skills.install.contenthash import hash_folder
from ai_skills.install.lock import read_lock
from ai_skills.install.npx_interop import NpxSkill, global_lock_path, npx_skills
from tests.source_repos import git, make_source, url_of
from tests.test_add_cli import run

pytestmark = pytest.mark.interop
NPX_AGENTS = ["-a", "claude-code", "-a", "codex", "-a", "opencode"]


def npx(
    tool: tuple[str, dict[str, str]], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    cli, env = tool
    result = subprocess.run([cli, *args], cwd=cwd, env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "source", ["alpha", "beta"])


def test_we_list_what_npx_installed_in_a_project(npx_skills: tuple[str, dict[str, str]],
                                                 source: Path, git_repo: Path) -> None:
    npx(npx_skills, git_repo, "add", url_of(source), "--skill", "alpha", *NPX_AGENTS, "-y")
    assert (git_repo / "skills-lock.json").is_file()
    (found,) = npx_skills_of(git_repo)
    assert (found.name, found.scope, found.source_type) == ("alpha", "project", "git")
    assert found.skill_path == "skills/alpha/SKILL.md"
    listed = json.loads(run(git_repo, "list", "--json").stdout)
    row = next(r for r in listed if r["origin"] == "npx skills (project)")
    assert (row["name"], row["pin"]["source"]) == ("alpha", url_of(source))


def npx_skills_of(repo: Path) -> list[NpxSkill]:
    return [s for s in npx_skills(repo, os.environ) if s.scope == "project"]


def test_we_list_what_npx_installed_globally(npx_skills: tuple[str, dict[str, str]],
                                             source: Path, git_repo: Path) -> None:
    npx(npx_skills, git_repo, "add", str(source), "--skill", "beta", "-a", "claude-code",
        "-g", "-y")
    assert global_lock_path(os.environ).is_file()
    listed = json.loads(run(git_repo, "list", "--json").stdout)
    row = next(r for r in listed if r["origin"] == "npx skills (global)")
    assert row["name"] == "beta"
    assert row["pin"]["source_type"] == "local"


def test_import_npx_pins_the_same_content(npx_skills: tuple[str, dict[str, str]],
                                          source: Path, git_repo: Path) -> None:
    npx(npx_skills, git_repo, "add", url_of(source), "--skill", "alpha", *NPX_AGENTS, "-y")
    result = run(git_repo, "import-npx", "--yes")
    assert result.returncode == 0, result.stderr
    entry = read_lock(git_repo / "ai-skills.lock.json")["alpha"]
    assert (entry.source, entry.path) == (url_of(source), "skills/alpha")
    assert entry.commit == git(source, "rev-parse", "HEAD")
    ours = (git_repo / ".ai-skills/skills/alpha").resolve()
    assert entry.hash == hash_folder(ours)
    assert hash_folder(git_repo / ".agents/skills/alpha") == entry.hash  # npx's copy
    assert "npx skills remove" in result.stderr


def test_import_npx_global_local_source(npx_skills: tuple[str, dict[str, str]],
                                        source: Path, git_repo: Path) -> None:
    npx(npx_skills, git_repo, "add", str(source), "--skill", "beta", "-a", "claude-code",
        "-g", "-y")
    result = run(git_repo, "import-npx", "--global", "--yes")
    assert result.returncode == 0, result.stderr
    lock = read_lock(Path(os.environ["XDG_CONFIG_HOME"]) / "ai-skills/lock.json")
    assert lock["beta"].source == url_of(source)
    assert lock["beta"].path == "skills/beta"


def test_npx_list_reads_a_repo_we_deployed(npx_skills: tuple[str, dict[str, str]],
                                           source: Path, git_repo: Path) -> None:
    env = dict(os.environ, CODEX_HOME=str(git_repo / ".codex"))
    added = run(git_repo, "add", url_of(source), "-s", "alpha", "--agents",
                "claude,opencode,codex,agents", env=env)
    assert added.returncode == 0, added.stderr
    listed = json.loads(npx(npx_skills, git_repo, "list", "--json").stdout)
    names = {(item["name"], item["scope"]) for item in listed}
    assert ("alpha", "project") in names
    alpha = [item for item in listed if item["name"] == "alpha"]
    assert "Claude Code" in {a for item in alpha for a in item["agents"]}
    # It reads the files through our links into .ai-skills.
    assert {Path(item["path"]).relative_to(git_repo).parts[0] for item in alpha} <= {
        ".agents", ".claude"}
