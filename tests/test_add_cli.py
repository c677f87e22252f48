"""The `ai-skills add` family as commands: output, exit codes, concurrency, sudden death."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ai_skills.install.contenthash import hash_folder
from ai_skills.install.sources import cache_root
from tests.helpers import kill_at_pause, links_under
from tests.source_repos import commit_all, git, make_hostile_source, make_source, url_of

AI_SKILLS = shutil.which("ai-skills", path=str(Path(sys.executable).parent))


def run(cwd: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    assert AI_SKILLS, "ai-skills is not installed next to this Python"
    # Output buffered as a user's is: the fast path flushes it itself before os._exit.
    env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([AI_SKILLS, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def kill_before_switch(cwd: Path, command: str, *, marker: Path) -> None:
    """Run `ai-skills COMMAND` until it pauses before its switch, then SIGKILL it."""
    assert AI_SKILLS
    kill_at_pause([AI_SKILLS, command], cwd, marker=marker)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "source", ["alpha", "beta"])


def test_add_shows_plan_installs_and_links(source: Path, git_repo: Path) -> None:
    env = dict(os.environ, CODEX_HOME=str(git_repo / ".codex"))
    result = run(git_repo, "add", url_of(source), "--skill", "alpha", "--agents",
                 "claude,opencode,codex", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    head = git(source, "rev-parse", "HEAD")
    lines = result.stderr.splitlines()
    assert lines[0] == f"ai-skills: {url_of(source)} @ {head[:12]}: 2 skill(s)"
    assert lines[1].startswith("  + alpha  (skills/alpha)")
    assert lines[2].startswith("    beta  (skills/beta)")
    assert f"ai-skills: installed alpha @ {head[:12]}" in lines
    assert "ai-skills: linked .claude/skills/alpha -> ../../.ai-skills/skills/alpha" in lines
    assert set(links_under(git_repo / ".codex")) == {"skills/alpha"}


def test_json_output(source: Path, git_repo: Path) -> None:
    result = run(git_repo, "add", url_of(source), "-s", "beta", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(c["name"], c["action"]) for c in data["changes"]] == [("beta", "installed")]
    listed = json.loads(run(git_repo, "list", "--json").stdout)
    beta = next(row for row in listed if row["name"] == "beta")
    assert beta["origin"] == "installed (repo)"
    assert beta["pin"]["commit"] == git(source, "rev-parse", "HEAD")
    text = run(git_repo, "list").stdout
    assert f"from {url_of(source)} @ {beta['pin']['commit'][:12]}" in text


def test_no_op_install_prints_nothing_and_add_without_source_installs(
    source: Path, git_repo: Path, tmp_path: Path
) -> None:
    assert run(git_repo, "add", url_of(source), "-s", "alpha").returncode == 0
    quiet = run(git_repo, "install")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    commit_all(git_repo, "pin")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    result = run(clone, "add")
    assert result.returncode == 0, result.stderr
    assert hash_folder((clone / ".ai-skills/skills/alpha").resolve()) == \
        hash_folder((git_repo / ".ai-skills/skills/alpha").resolve())


def test_check_and_update_cycle(source: Path, git_repo: Path) -> None:
    run(git_repo, "add", url_of(source), "-s", "alpha")
    assert run(git_repo, "check").returncode == 0
    old = git(source, "rev-parse", "HEAD")
    (source / "skills/alpha/notes.md").write_text("notes\n")
    new = commit_all(source, "notes")
    checked = run(git_repo, "check")
    assert checked.returncode == 1
    assert f"alpha: ok, upstream moved ({old[:12]} -> {new[:12]})" in checked.stdout
    updated = run(git_repo, "update")
    assert updated.returncode == 0, updated.stderr
    assert f"ai-skills: updated alpha: {old[:12]} -> {new[:12]}" in updated.stderr
    assert "    added    notes.md" in updated.stderr
    assert run(git_repo, "check").returncode == 0
    assert "everything is up to date" in run(git_repo, "update").stderr


def test_hostile_source_fails_with_one_clear_line(tmp_path: Path, git_repo: Path) -> None:
    hostile = make_hostile_source(tmp_path / "hostile", ("120000", b"x", b"../../secret"))
    result = run(git_repo, "add", url_of(hostile), "--yes")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"ai-skills: error: {url_of(hostile)} @ {git(hostile, 'rev-parse', 'main')[:12]}: "
        "skills/evil/x: symlink points outside the skill folder (../../secret); refused"
    )
    assert not (git_repo / "ai-skills.lock.json").exists()
    assert not (git_repo / ".claude").exists()


def test_outside_a_repo_needs_global(source: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run(plain, "add", url_of(source), "-s", "alpha")
    assert result.returncode == 2
    assert "not inside a git repository; run this in a repo, or pass --global" in result.stderr
    assert run(plain, "add", url_of(source), "-s", "alpha", "--global").returncode == 0
    assert (Path(os.environ["HOME"]) / ".claude/skills/alpha/SKILL.md").is_file()


def test_remove_unknown_name_is_a_usage_error(source: Path, git_repo: Path) -> None:
    run(git_repo, "add", url_of(source), "-s", "alpha")
    result = run(git_repo, "remove", "gamma")
    assert result.returncode == 2
    assert "'gamma' not installed (installed: alpha)" in result.stderr


def test_two_adds_at_once_share_the_cache(source: Path, tmp_path: Path) -> None:
    repos = []
    for index in range(2):
        repo = tmp_path / f"r{index}"
        repo.mkdir()
        git(repo, "init", "-q")
        repos.append(repo)
    assert AI_SKILLS
    procs = [
        subprocess.Popen([AI_SKILLS, "add", url_of(source), "--all", "--yes"], cwd=repo,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
        for repo in repos
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    head = git(source, "rev-parse", "HEAD")
    for repo in repos:
        lock = json.loads((repo / "ai-skills.lock.json").read_text())
        assert {n: e["commit"] for n, e in lock["skills"].items()} == {"alpha": head,
                                                                       "beta": head}
    caches = sorted(p.name for p in cache_root(os.environ).iterdir())
    assert len(caches) == 2 and caches[0].endswith(".git") and caches[1].endswith(".lock")


def test_killed_update_leaves_previous_state_then_heals(source: Path, git_repo: Path,
                                                       tmp_path: Path) -> None:
    run(git_repo, "add", url_of(source), "-s", "alpha")
    link = git_repo / ".ai-skills/skills/alpha"
    before = (os.readlink(link), hash_folder(link.resolve()),
              (git_repo / "ai-skills.lock.json").read_bytes())
    (source / "skills/alpha/SKILL.md").write_text(
        "---\nname: alpha\ndescription: Second version.\n---\n# v2\n")
    commit_all(source, "v2")
    kill_before_switch(git_repo, "update", marker=tmp_path / "paused")
    after = (os.readlink(link), hash_folder(link.resolve()),
             (git_repo / "ai-skills.lock.json").read_bytes())
    assert after == before
    assert "Second version" not in (link / "SKILL.md").read_text()
    assert run(git_repo, "check", "--offline").returncode == 0
    healed = run(git_repo, "update")
    assert healed.returncode == 0, healed.stderr
    assert "Second version" in (link / "SKILL.md").read_text()
    versions = os.listdir(git_repo / ".ai-skills/skills/.versions")
    assert versions == [os.readlink(link).split("/")[1]]


def test_fast_entry_takes_only_plain_add_and_install() -> None:
    from ai_skills.cli.entry import fast_command

    assert fast_command(["add", "o/r", "-s", "a", "--skill", "b", "--yes", "--json"])
    assert fast_command(["install", "--global"])
    assert fast_command(["add"])
    for argv in (["add", "o/r", "--bogus"], ["add", "--help"], ["install", "extra"],
                 ["list"], [], ["add", "o/r", "--ref"]):
        assert fast_command(argv) is None, argv


def test_unknown_option_gets_typer_usage_error(git_repo: Path) -> None:
    result = run(git_repo, "add", "owner/repo", "--bogus")
    assert result.returncode == 2
    assert "No such option: --bogus" in result.stderr


def test_progress_line_only_for_slow_steps(capsys: pytest.CaptureFixture[str]) -> None:
    from ai_skills.cli.render import progress_after

    progress = progress_after("ai-skills", 0.05)
    with progress("fetching fast"):
        pass
    with progress("fetching slow"):
        time.sleep(0.3)
    assert capsys.readouterr().err == "ai-skills: fetching slow ...\n"


def test_killed_install_in_a_fresh_clone_then_rerun(source: Path, git_repo: Path,
                                                   tmp_path: Path) -> None:
    run(git_repo, "add", url_of(source), "-s", "alpha")
    commit_all(git_repo, "pin")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    kill_before_switch(clone, "install", marker=tmp_path / "paused")
    assert not os.path.lexists(clone / ".ai-skills/skills/alpha")
    assert not os.path.lexists(clone / ".claude/skills/alpha")
    assert run(clone, "check", "--offline").returncode == 1  # missing, and says so
    result = run(clone, "install")
    assert result.returncode == 0, result.stderr
    assert hash_folder((clone / ".ai-skills/skills/alpha").resolve()) == \
        hash_folder((git_repo / ".ai-skills/skills/alpha").resolve())
    assert len(os.listdir(clone / ".ai-skills/skills/.versions")) == 1


def test_remove_of_nothing_leaves_the_repo_untouched(git_repo: Path) -> None:
    result = run(git_repo, "remove", "ghost")
    assert result.returncode == 2
    assert "'ghost' not installed" in result.stderr
    assert git(git_repo, "status", "--porcelain", "--untracked-files=all") == ""
