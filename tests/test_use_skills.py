"""use-skills end to end on real folders and git repos (core API and the installed command)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ai_skills.deploy.use_skills import EXCLUDE_BEGIN, sync_repo
from tests.conftest import git
from tests.helpers import links_under, make_catalog

USE_SKILLS = shutil.which("use-skills", path=str(Path(sys.executable).parent))


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A catalog folder with three valid skills."""
    return make_catalog(tmp_path / "catalog", ["alpha", "beta", "gamma"])


@pytest.fixture
def env(catalog: Path, isolated_home: Path) -> dict[str, str]:
    """An environment whose catalog is `catalog` and whose CODEX_HOME is unset."""
    environ = dict(os.environ)
    environ["AI_SKILLS_PATH"] = str(catalog)
    return environ


def run_use_skills(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `use-skills` command, run in `repo`."""
    assert USE_SKILLS, "use-skills is not installed next to this Python"
    # Output buffered as a user's is: use-skills flushes it itself before os._exit.
    env = {k: v for k, v in env.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([USE_SKILLS, *args], cwd=repo, env=env, capture_output=True, text=True)


def test_links_named_skills_for_claude_and_opencode(git_repo: Path, env: dict[str, str],
                                                     catalog: Path) -> None:
    (git_repo / ".skills").write_text("# skills for this repo\nalpha\n\n  beta  \n")
    report = sync_repo(git_repo, env)
    assert report.errors == []
    assert links_under(git_repo) == {
        ".claude/skills/alpha": str(catalog / "alpha"),
        ".claude/skills/beta": str(catalog / "beta"),
        ".opencode/skills/alpha": str(catalog / "alpha"),
        ".opencode/skills/beta": str(catalog / "beta"),
    }


def test_codex_gets_links_only_when_codex_home_is_set(git_repo: Path, env: dict[str, str],
                                                       catalog: Path) -> None:
    (git_repo / ".skills").write_text("alpha\n")
    sync_repo(git_repo, env)
    assert not (git_repo / ".codex").exists() and not (git_repo / ".agents").exists()
    env["CODEX_HOME"] = f"{git_repo}/.codex"  # what `export CODEX_HOME=$PWD/.codex` gives
    assert sync_repo(git_repo, env).errors == []
    assert os.readlink(git_repo / ".codex/skills/alpha") == str(catalog / "alpha")


def test_relative_codex_home_is_refused_in_one_line_and_nothing_dangles(
    git_repo: Path, env: dict[str, str], catalog: Path
) -> None:
    (git_repo / ".skills").write_text("alpha\n")
    env["CODEX_HOME"] = f"{git_repo}/.codex"
    sync_repo(git_repo, env)
    env["CODEX_HOME"] = ".codex"
    report = sync_repo(git_repo, env)
    assert report.errors == [
        "codex: CODEX_HOME='.codex' is a relative path; agents would read it from whatever "
        "folder they run in. Set it to an absolute folder (in .envrc: "
        "`export CODEX_HOME=$PWD/.codex`)"
    ]
    # The other agents are still synced; the links Codex had are left alone, not guessed at.
    assert os.readlink(git_repo / ".claude/skills/alpha") == str(catalog / "alpha")
    assert os.readlink(git_repo / ".codex/skills/alpha") == str(catalog / "alpha")
    assert not (git_repo / ".codex/.codex").exists()


def test_removed_skill_is_unlinked_and_foreign_files_are_byte_identical(
    git_repo: Path, env: dict[str, str]
) -> None:
    own = git_repo / ".claude/skills/my-own"
    own.mkdir(parents=True)
    (own / "SKILL.md").write_bytes(b"---\nname: my-own\ndescription: mine\n---\nbody\r\n")
    (git_repo / ".skills").write_text("alpha\nbeta\n")
    sync_repo(git_repo, env)
    (git_repo / ".skills").write_text("alpha\n")
    report = sync_repo(git_repo, env)
    assert {str(s.target.relative_to(git_repo)) for s in report.done} == {
        ".claude/skills/beta", ".opencode/skills/beta"}
    assert (own / "SKILL.md").read_bytes() == b"---\nname: my-own\ndescription: mine\n---\nbody\r\n"


def test_missing_manifest_removes_only_our_links(git_repo: Path, env: dict[str, str]) -> None:
    (git_repo / ".skills").write_text("alpha\n")
    sync_repo(git_repo, env)
    (git_repo / ".skills").unlink()
    report = sync_repo(git_repo, env)
    assert report.errors == []
    assert links_under(git_repo) == {}


def test_unreadable_manifest_changes_nothing(git_repo: Path, env: dict[str, str]) -> None:
    from ai_skills.errors import ManifestError

    (git_repo / ".skills").write_text("alpha\n")
    sync_repo(git_repo, env)
    (git_repo / ".skills").write_bytes(b"alpha\n\xff\xfe\n")
    with pytest.raises(ManifestError, match=r"\.skills:2: not UTF-8 text \(byte 0xff\)"):
        sync_repo(git_repo, env)
    assert ".claude/skills/alpha" in links_under(git_repo)


def test_unknown_skill_suggests_the_close_name_and_others_still_link(
    git_repo: Path, env: dict[str, str]
) -> None:
    (git_repo / ".skills").write_text("alpha\nbeat\n")
    report = sync_repo(git_repo, env)
    assert report.errors == [".skills:2: unknown skill 'beat' (did you mean 'beta'?)"]
    assert ".claude/skills/alpha" in links_under(git_repo)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("../alpha", "not a skill name (no paths"),
        ("a/b", "not a skill name (no paths"),
        ("Alpha", "must be lowercase"),
        ("al--pha", "must not contain '--'"),
    ],
)
def test_bad_names_are_reported_with_their_line(
    git_repo: Path, env: dict[str, str], line: str, expected: str
) -> None:
    (git_repo / ".skills").write_text(f"alpha\n{line}\n")
    report = sync_repo(git_repo, env)
    assert len(report.errors) == 1
    assert report.errors[0].startswith(".skills:2: ")
    assert expected in report.errors[0]


def test_duplicate_line_is_a_warning(git_repo: Path, env: dict[str, str]) -> None:
    (git_repo / ".skills").write_text("alpha\nalpha\n")
    report = sync_repo(git_repo, env)
    assert report.errors == []
    assert report.warnings == [".skills:2: 'alpha' is already listed on line 1"]


def test_invalid_skill_is_not_linked_and_reported(git_repo: Path, env: dict[str, str],
                                                  catalog: Path) -> None:
    (catalog / "gamma" / "SKILL.md").write_text("---\nname: gamma\n---\n")
    (git_repo / ".skills").write_text("gamma\nalpha\n")
    report = sync_repo(git_repo, env)
    assert any("skill 'gamma' not linked" in e and "description" in e for e in report.errors)
    assert set(links_under(git_repo)) == {".claude/skills/alpha", ".opencode/skills/alpha"}


def test_skill_edited_to_invalid_after_linking_is_unlinked(
    git_repo: Path, env: dict[str, str], catalog: Path
) -> None:
    (git_repo / ".skills").write_text("alpha\n")
    sync_repo(git_repo, env)
    (catalog / "alpha" / "SKILL.md").write_text("no front matter at all, and longer\n")
    report = sync_repo(git_repo, env)
    assert report.errors and "front matter" in report.errors[0]
    assert links_under(git_repo) == {}


def test_codex_home_pointing_at_a_file_is_reported_and_others_applied(
    git_repo: Path, env: dict[str, str]
) -> None:
    (git_repo / "codex-file").write_text("not a folder")
    env["CODEX_HOME"] = str(git_repo / "codex-file")
    (git_repo / ".skills").write_text("alpha\n")
    report = sync_repo(git_repo, env)
    assert report.errors == [
        f"codex: {git_repo / 'codex-file'} is a file, not a folder; "
        f"cannot link skills into {git_repo / 'codex-file' / 'skills'}"
    ]
    assert ".claude/skills/alpha" in links_under(git_repo)


def test_first_match_wins_across_the_search_path(git_repo: Path, env: dict[str, str],
                                                 tmp_path: Path) -> None:
    first = make_catalog(tmp_path / "first", ["alpha"])
    env["AI_SKILLS_PATH"] = f"{first}:{env['AI_SKILLS_PATH']}"
    (git_repo / ".skills").write_text("alpha\nbeta\n")
    sync_repo(git_repo, env)
    assert os.readlink(git_repo / ".claude/skills/alpha") == str(first / "alpha")


def test_bundled_skills_are_found_without_any_configuration(git_repo: Path) -> None:
    (git_repo / ".skills").write_text("review-gate\n")
    report = sync_repo(git_repo, dict(os.environ))
    assert report.errors == []
    assert Path(os.readlink(git_repo / ".claude/skills/review-gate"), "SKILL.md").is_file()


def test_links_are_listed_in_git_info_exclude_not_in_tracked_files(
    git_repo: Path, env: dict[str, str]
) -> None:
    exclude = git_repo / ".git/info/exclude"
    exclude.write_text("# my own line\n*.log\n")
    (git_repo / ".skills").write_text("alpha\n")
    sync_repo(git_repo, env)
    text = exclude.read_text()
    assert text.startswith("# my own line\n*.log\n" + EXCLUDE_BEGIN)
    assert "/.claude/skills/alpha\n" in text
    assert git(git_repo, "status", "--porcelain") == "?? .skills"
    (git_repo / ".skills").write_text("")
    sync_repo(git_repo, env)
    assert exclude.read_text() == "# my own line\n*.log\n"


def test_repo_reached_through_a_symlink_and_paths_with_spaces(
    tmp_path: Path, env: dict[str, str], catalog: Path
) -> None:
    real = tmp_path / "my projects" / "the repo"
    real.mkdir(parents=True)
    git(real, "init", "-q")
    (real / ".skills").write_text("alpha\n")
    alias = tmp_path / "alias to repo"
    alias.symlink_to(real)
    result = run_use_skills(alias / "", env)
    assert result.returncode == 0, result.stderr
    assert os.readlink(real / ".claude/skills/alpha") == str(catalog / "alpha")
    assert run_use_skills(real, env).stderr == ""


def test_non_git_folder_works_and_keeps_state_outside_it(tmp_path: Path, env: dict[str, str],
                                                         catalog: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / ".skills").write_text("alpha\n")
    assert run_use_skills(folder, env).returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == [".claude", ".opencode", ".skills"]
    (folder / ".skills").write_text("")
    assert run_use_skills(folder, env).returncode == 0
    assert links_under(folder) == {}


def test_worktree_gets_its_own_links(git_repo: Path, env: dict[str, str]) -> None:
    (git_repo / ".skills").write_text("alpha\n")
    git(git_repo, "add", ".skills")
    git(git_repo, "commit", "-qm", "skills")
    worktree = git_repo.parent / "wt"
    git(git_repo, "worktree", "add", "-q", str(worktree))
    assert run_use_skills(worktree, env).returncode == 0
    assert set(links_under(worktree)) == {".claude/skills/alpha", ".opencode/skills/alpha"}
    assert git(worktree, "status", "--porcelain") == ""
