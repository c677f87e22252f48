"""Git worktrees and branches of tasks; every step checks the world before it acts."""

from __future__ import annotations

import os

from ai_skills.util.git import git_out, git_query, run_git
from ai_skills.util.git_refs import branches_under

# `worker status` counts progress here: pathlib (and typing) cost it more than its work.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

# Used only when the repository has no identity, so saving work can never fail on it.
FALLBACK_IDENTITY = ["-c", "user.name=worker", "-c", "user.email=worker@localhost"]


def branch_exists(repo: Path, branch: str) -> bool:
    """True when `refs/heads/<branch>` exists."""
    proc = run_git(
        ["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=repo, check=False
    )
    return proc.returncode == 0


def branch_sha(repo: Path, branch: str) -> str | None:
    """The commit a branch points at, or None."""
    proc = run_git(
        ["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"],
        cwd=repo,
        check=False,
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def task_branches(repo: str | Path, common_dir: str | Path) -> set[str]:
    """The task branches (`worker/*`) that exist: read from git's ref files in `common_dir`
    (the repository's), or in one git run when its refs are stored otherwise."""
    found = branches_under(os.fspath(common_dir), "worker/")
    if found is not None:
        return found
    out = git_query(["for-each-ref", "--format=%(refname)", "refs/heads/worker/"], cwd=repo)
    return {line.removeprefix("refs/heads/") for line in out.splitlines()}


def current_branch(repo: Path) -> str | None:
    """The branch checked out in `repo`, or None when detached."""
    proc = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=repo, check=False)
    return proc.stdout.strip() or None


def dirty_paths(checkout: Path) -> list[str]:
    """`git status --porcelain` lines of a checkout (tracked and untracked changes)."""
    out = run_git(["status", "--porcelain", "--untracked-files=all"], cwd=checkout).stdout
    return [line for line in out.splitlines() if line.strip()]


def registered_worktrees(repo: Path) -> dict[Path, str | None]:
    """Worktrees git knows about: path -> branch (None when detached)."""
    out = git_out(["worktree", "list", "--porcelain"], cwd=repo)
    from pathlib import Path

    found: dict[Path, str | None] = {}
    current: Path | None = None
    for line in out.splitlines():
        if line.startswith("worktree "):
            current = Path(line.removeprefix("worktree ")).resolve()
            found[current] = None
        elif line.startswith("branch ") and current is not None:
            found[current] = line.removeprefix("branch refs/heads/")
    return found


def remove_worktree(repo: Path, path: Path) -> bool:
    """Remove a worktree whose work is committed; True when it is verifiably gone."""
    path = path.resolve()
    if path in registered_worktrees(repo) and path.exists():
        # --force only drops ignored and untracked leftovers: the caller saved the work.
        run_git(["worktree", "remove", "--force", str(path)], cwd=repo)
    run_git(["worktree", "prune"], cwd=repo)
    return not path.exists() and path not in registered_worktrees(repo)


def is_merged(repo: Path, branch: str, into: str) -> bool:
    """True when every commit of `branch` is reachable from `into`."""
    if not branch_exists(repo, into) or not branch_exists(repo, branch):
        return False
    proc = run_git(
        ["merge-base", "--is-ancestor", f"refs/heads/{branch}", f"refs/heads/{into}"],
        cwd=repo,
        check=False,
    )
    return proc.returncode == 0


def delete_branch(repo: Path, branch: str) -> None:
    """Delete a branch the caller proved merged."""
    run_git(["branch", "-D", branch], cwd=repo)


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    """True when commit `older` is reachable from `newer`."""
    proc = run_git(["merge-base", "--is-ancestor", older, newer], cwd=repo, check=False)
    return proc.returncode == 0


def progress_counts(repo: str | Path, *, base_sha: str, branch: str) -> tuple[int, int]:
    """(commits ahead of the base, files changed since the base) on the task branch."""
    # Both come from the store: after --end-of-options neither can be read as an option.
    revs = ["--end-of-options", f"{base_sha}..refs/heads/{branch}"]
    ahead = int(git_query(["rev-list", "--count", *revs], cwd=repo))
    names = git_query(
        ["diff", "--name-only", "--end-of-options", base_sha, f"refs/heads/{branch}"], cwd=repo
    )
    return ahead, len([n for n in names.splitlines() if n])
