"""Where a repository's worker data lives, found from any of its worktrees without git."""

from __future__ import annotations

import os

from ai_skills.deploy import fastpath
from ai_skills.util.values import Value
from ai_skills.worker.errors import NotInRepoError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


class RepoContext(Value):
    """Paths of one repository as the worker sees it.

    Held as text, with `Path` views built on use: every command builds one, and `worker
    status` reads the store and runs git with the text alone, never paying for pathlib or
    typing (a NamedTuple), which cost it more than its work (benchmarks/worker_bench.py).
    """

    __slots__ = ("root", "common")

    def __init__(self, repo_root: str | os.PathLike[str], common_dir: str | os.PathLike[str]):
        self.root = os.fspath(repo_root)  # the main checkout
        self.common = os.fspath(common_dir)  # its git common dir

    @property
    def worker_folder(self) -> str:
        """`<common-dir>/worker`: shared by every worktree of the repository."""
        return os.path.join(self.common, "worker")

    @property
    def db_file(self) -> str:
        """The store (SQLite)."""
        return os.path.join(self.common, "worker", "worker.db")

    @property
    def config_file(self) -> str:
        """`.worker.toml` at the root of the main checkout."""
        return os.path.join(self.root, ".worker.toml")

    @property
    def repo_root(self) -> Path:
        """The main checkout."""
        return _path(self.root)

    @property
    def common_dir(self) -> Path:
        """The git common dir (`<main checkout>/.git` for a non-bare repository)."""
        return _path(self.common)

    @property
    def worker_dir(self) -> Path:
        """`worker_folder` as a Path."""
        return _path(self.worker_folder)

    @property
    def db_path(self) -> Path:
        """`db_file` as a Path."""
        return _path(self.db_file)

    @property
    def config_path(self) -> Path:
        """`config_file` as a Path."""
        return _path(self.config_file)


def _path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


def find_repo(start: str | os.PathLike[str]) -> RepoContext:
    """The repository containing `start` (a main checkout or any linked worktree)."""
    root = fastpath.find_repo_root(os.path.realpath(start))
    git_dir = fastpath.git_dir(root) if root is not None else None
    if root is None or git_dir is None:
        raise NotInRepoError(path=os.fspath(start))
    common = os.path.realpath(fastpath.common_dir(git_dir))
    # For a non-bare repository the common dir is `<main checkout>/.git`.
    main_root = os.path.dirname(common) if os.path.basename(common) == ".git" else root
    return RepoContext(repo_root=main_root, common_dir=common)
