"""`use skills` in a real .envrc, run by the real direnv binary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.helpers import links_under, make_catalog

pytestmark = pytest.mark.direnv


@pytest.fixture
def direnv_env(isolated_home: Path, tmp_path: Path) -> dict[str, str]:
    """An environment where direnv finds our library and our use-skills command."""
    require_tool("direnv")
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.pop("DIRENV_DIR", None)
    env.pop("DIRENV_FILE", None)
    env.pop("DIRENV_DIFF", None)
    env.pop("DIRENV_WATCHES", None)
    env["DIRENV_LOG_FORMAT"] = "direnv: %s"
    result = subprocess.run([f"{bin_dir}/ai-skills", "direnv", "install"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return env


def direnv(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["direnv", *args], cwd=repo, env=env, capture_output=True, text=True)


def test_use_skills_in_envrc_links_unlinks_and_spares_foreign_files(
    git_repo: Path, direnv_env: dict[str, str], tmp_path: Path
) -> None:
    catalog = make_catalog(tmp_path / "catalog", ["alpha", "beta"])
    direnv_env["AI_SKILLS_PATH"] = str(catalog)
    foreign = git_repo / ".claude/skills/handmade"
    foreign.mkdir(parents=True)
    (foreign / "SKILL.md").write_text("---\nname: handmade\ndescription: mine\n---\n")
    (git_repo / ".envrc").write_text("export CODEX_HOME=$PWD/.codex\nuse skills\n")
    (git_repo / ".skills").write_text("alpha\nbeta\n")
    assert direnv(git_repo, direnv_env, "allow", ".").returncode == 0

    first = direnv(git_repo, direnv_env, "exec", ".", "true")
    assert first.returncode == 0, first.stderr
    assert "use-skills: linked .codex/skills/alpha" in first.stderr
    assert set(links_under(git_repo)) == {
        f"{d}/{n}" for d in (".claude/skills", ".opencode/skills", ".codex/skills")
        for n in ("alpha", "beta")
    }

    quiet = direnv(git_repo, direnv_env, "exec", ".", "true")
    assert "use-skills" not in quiet.stderr

    (git_repo / ".skills").write_text("alpha\n")
    third = direnv(git_repo, direnv_env, "exec", ".", "true")
    assert "use-skills: unlinked .claude/skills/beta" in third.stderr
    assert set(links_under(git_repo)) == {
        f"{d}/alpha" for d in (".claude/skills", ".opencode/skills", ".codex/skills")
    }
    assert (foreign / "SKILL.md").read_text() == "---\nname: handmade\ndescription: mine\n---\n"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=git_repo, capture_output=True,
                            text=True).stdout
    assert ".claude/skills/alpha" not in status and ".opencode" not in status


def test_changing_the_manifest_triggers_a_reload_and_nothing_else_does(
    git_repo: Path, direnv_env: dict[str, str]
) -> None:
    import json

    (git_repo / ".envrc").write_text("use skills\n")
    (git_repo / ".skills").write_text("review-gate\n")
    direnv(git_repo, direnv_env, "allow", ".")

    def export(env: dict[str, str]) -> tuple[dict[str, str], str]:
        result = direnv(git_repo, env, "export", "json")
        assert result.returncode == 0, result.stderr
        changes = json.loads(result.stdout) if result.stdout.strip() else {}
        after = dict(env)
        for key, value in changes.items():
            if value is None:
                after.pop(key, None)
            else:
                after[key] = value
        return after, result.stderr

    loaded, first = export(direnv_env)
    assert "linked .claude/skills/review-gate" in first
    _, unchanged = export(loaded)
    assert "loading" not in unchanged, "no watched file changed, so no reload"
    manifest = git_repo / ".skills"
    manifest.write_text("")
    later = manifest.stat().st_mtime + 2  # direnv compares modification times in seconds
    os.utime(manifest, (later, later))
    _, reloaded = export(loaded)
    assert "loading" in reloaded
    assert "unlinked .claude/skills/review-gate" in reloaded


def test_missing_use_skills_command_is_a_clear_message(
    git_repo: Path, direnv_env: dict[str, str]
) -> None:
    (git_repo / ".envrc").write_text("use skills\nexport AFTER=1\n")
    direnv_env["AI_SKILLS_USE_SKILLS"] = "no-such-use-skills"
    direnv(git_repo, direnv_env, "allow", ".")
    result = direnv(git_repo, direnv_env, "exec", ".", "sh", "-c", "echo $AFTER")
    assert "'no-such-use-skills' not found" in result.stderr
    assert result.stdout.strip() == "1", "the rest of .envrc still loads"
