"""Where a repository's worker data lives, found from any of its worktrees without git."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ai_skills.util.git import common_dir_of, find_worktree_root, git_dir_of
from ai_skills.worker.errors import NotInRepoError


class RepoContext(NamedTuple):
    """Paths of one repository as the worker sees it.

    A NamedTuple: every command builds one, and a dataclass's import of `inspect` would cost
    `worker status` more than its work.
    """

    repo_root: Path
    common_dir: Path

    @property
    def worker_dir(self) -> Path:
        """`<common-dir>/worker`: shared by every worktree of the repository."""
        return self.common_dir / "worker"

    @property
    def db_path(self) -> Path:
        """The store."""
        return self.worker_dir / "worker.db"

    @property
    def config_path(self) -> Path:
        """`.worker.toml` at the root of the main checkout."""
        return self.repo_root / ".worker.toml"


def find_repo(start: Path) -> RepoContext:
    """The repository containing `start` (a main checkout or any linked worktree)."""
    root = find_worktree_root(start.resolve())
    git_dir = git_dir_of(root) if root is not None else None
    if root is None or git_dir is None:
        raise NotInRepoError(path=str(start))
    common = common_dir_of(git_dir).resolve()
    # For a non-bare repository the common dir is `<main checkout>/.git`.
    main_root = common.parent if common.name == ".git" else root
    return RepoContext(repo_root=main_root, common_dir=common)
