"""`branches_under` (task branches read from git's ref files, for `worker status`) names the
same branches as `git for-each-ref`, whatever mix of packed, loose, deleted and broken refs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ai_skills.util.git_refs import branches_under

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, env=ENV,
                          capture_output=True, text=True).stdout


def git_answer(repo: Path) -> set[str]:
    out = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/worker/")
    return {line.removeprefix("refs/heads/") for line in out.splitlines()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "commit", "-q", "--allow-empty", "-m", "one")
    return root


def heads(repo: Path) -> Path:
    return repo / ".git" / "refs" / "heads"


def test_packed_loose_and_deleted_branches_as_git_lists_them(repo: Path) -> None:
    for name in ("worker/packed", "worker/gone-packed", "worker/both", "workerish", "other/x"):
        git(repo, "branch", name)
    git(repo, "pack-refs", "--all")
    git(repo, "branch", "-D", "worker/gone-packed")  # removed from packed-refs
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    git(repo, "branch", "-f", "worker/both")  # loose now, its packed copy stale
    git(repo, "branch", "worker/loose")
    git(repo, "branch", "worker/gone-loose")
    git(repo, "branch", "-D", "worker/gone-loose")
    git(repo, "branch", "worker/nested/deep")
    git(repo, "branch", "worker/é-ü")  # not ASCII
    expected = {"worker/packed", "worker/both", "worker/loose", "worker/nested/deep"}
    assert git_answer(repo) >= expected
    assert branches_under(str(repo / ".git"), "worker/") == git_answer(repo)


def test_broken_and_half_written_loose_refs_are_skipped_as_git_skips_them(repo: Path) -> None:
    git(repo, "branch", "worker/good")
    folder = heads(repo) / "worker"
    sha = (folder / "good").read_text().strip()
    (folder / "empty").write_text("")
    (folder / "garbage").write_text("not an object id\n")
    (folder / "short").write_text(sha[:39] + "\n")
    (folder / "glued").write_text(sha + "x\n")
    (folder / "being-written.lock").write_text(sha + "\n")
    (folder / "symbolic").write_text("ref: refs/heads/main\n")
    (folder / "spaced").write_text(sha + " trailing words\n")
    completed = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/heads/worker/"],
        cwd=repo, env=ENV, capture_output=True, text=True, check=True,
    )
    assert "ignoring broken ref" in completed.stderr  # git does see them, and skips them
    assert branches_under(str(repo / ".git"), "worker/") == git_answer(repo)
    assert git_answer(repo) == {"worker/good", "worker/symbolic", "worker/spaced"}


def test_a_branch_named_like_the_prefix_folder_is_not_under_it(repo: Path) -> None:
    git(repo, "branch", "worker")  # refs/heads/worker is a file: no worker/* can exist
    assert branches_under(str(repo / ".git"), "worker/") == set() == git_answer(repo)


def test_a_linked_worktree_reads_the_shared_refs(repo: Path, tmp_path: Path) -> None:
    git(repo, "worktree", "add", "-q", "-b", "worker/t1", str(tmp_path / "t1"))
    git(repo, "pack-refs", "--all")
    git(tmp_path / "t1", "commit", "-q", "--allow-empty", "-m", "in the worktree")
    assert branches_under(str(repo / ".git"), "worker/") == {"worker/t1"} == git_answer(repo)


def test_refs_not_in_files_are_left_to_git(repo: Path) -> None:
    # git 2.39 here cannot make a reftable repository; its layout (a `reftable` folder in
    # the git dir, per git's docs) is built by hand. Without a refs/heads folder: the same.
    git_dir = repo / ".git"
    (git_dir / "reftable").mkdir()
    assert branches_under(str(git_dir), "worker/") is None
    (git_dir / "reftable").rmdir()
    heads(repo).rename(git_dir / "heads-away")
    assert branches_under(str(git_dir), "worker/") is None
