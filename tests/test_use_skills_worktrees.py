"""use-skills in a linked worktree: git reads one `info/exclude` for all worktrees."""

from __future__ import annotations

import os
from pathlib import Path

from ai_skills.deploy.use_skills import EXCLUDE_BEGIN, sync_repo
from tests.conftest import git
from tests.helpers import make_catalog


def test_a_worktree_sync_keeps_the_main_checkouts_exclude_lines(
    git_repo: Path, tmp_path: Path, isolated_home: Path
) -> None:
    env = dict(os.environ, AI_SKILLS_PATH=str(make_catalog(tmp_path / "catalog", ["alpha"])))
    (git_repo / ".skills").write_text("alpha\n")
    git(git_repo, "add", ".skills")
    git(git_repo, "commit", "-qm", "skills")
    worktree = tmp_path / "wt"
    git(git_repo, "worktree", "add", "-q", "-b", "side", str(worktree))
    assert not sync_repo(git_repo, env).errors
    assert not sync_repo(worktree, env, agents=["claude", "agents"]).errors

    exclude = (git_repo / ".git" / "info" / "exclude").read_text()
    assert exclude.count(EXCLUDE_BEGIN) == 2 and "[worktree wt]" in exclude
    for checkout in (git_repo, worktree):
        assert git(checkout, "status", "--porcelain", "--untracked-files=all") == "", checkout
    # Syncing the main checkout again changes nothing: neither run undoes the other.
    assert not sync_repo(git_repo, env).done
    assert (git_repo / ".git" / "info" / "exclude").read_text() == exclude
