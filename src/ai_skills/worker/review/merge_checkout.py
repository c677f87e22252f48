"""The checkouts of a merge: the integration branch's (where it is, what stops moving it)
and the temporary one the merge gates run in.

`worker merge` moves the branch ref, then brings a checkout of that branch along; local
changes there would be overwritten, so a merge is refused before it starts and again
before the ref moves.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ai_skills.util.git import run_git
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ReviewRefusedError
from ai_skills.worker.run.worktrees import registered_worktrees


def integration_checkout(ctx: RepoContext, integration: str) -> Path | None:
    """The checkout (main or a worktree) that has the integration branch checked out."""
    for path, branch in registered_worktrees(ctx.repo_root).items():
        if branch == integration:
            return path
    return None


def checkout_blockers(checkout: Path, old: str | None = None, new: str | None = None) -> list[str]:
    """What stops moving a checkout from `old` to `new`: local changes to tracked files, and
    untracked files where the merge adds a file. Other untracked files (a local
    `.worker.toml`, notes) do not matter."""
    out = run_git(["status", "--porcelain", "--untracked-files=no"], cwd=checkout).stdout
    blockers = [line[3:] for line in out.splitlines() if line.strip()]
    if old and new:
        added = run_git(
            ["diff", "--name-only", "--no-renames", "--diff-filter=A", old, new], cwd=checkout
        ).stdout.splitlines()
        blockers += [f"{path} (untracked)" for path in added if (checkout / path).exists()]
    return blockers


def dirty_checkout(
    ctx: RepoContext, integration: str, old: str | None = None, new: str | None = None
) -> str | None:
    """Why the checkout of `integration` cannot move from `old` to `new`, or None when it can."""
    checkout = integration_checkout(ctx, integration)
    if checkout is None or not checkout.exists():
        return None
    blockers = checkout_blockers(checkout, old, new)
    if not blockers:
        return None
    shown = ", ".join(blockers[:5]) + (" ..." if len(blockers) > 5 else "")
    return (
        f"{integration} is checked out in {checkout}, which has local changes ({shown}); "
        "commit or stash them, then run `worker merge` again"
    )


def refuse_dirty_checkout(ctx: RepoContext, task_id: str, integration: str) -> None:
    """Refuse a merge into a branch whose checkout has local changes, before anything moves."""
    why = dirty_checkout(ctx, integration)
    if why:
        raise ReviewRefusedError(task_id=task_id, detail=why + " (nothing was changed)")


def index_at(checkout: Path, sha: str) -> bool:
    """True when the checkout's index and tracked files match commit `sha`."""
    staged = run_git(["diff-index", "--cached", "--quiet", sha, "--"], cwd=checkout, check=False)
    files = run_git(["diff-files", "--quiet"], cwd=checkout, check=False)
    return staged.returncode == 0 and files.returncode == 0


@contextmanager
def temporary_worktree(ctx: RepoContext, task_id: str, sha: str) -> Iterator[Path]:
    """A detached worktree at `sha`, removed afterwards (also one left by a crash)."""
    path = ctx.worker_dir / "merge-check" / task_id
    _drop_worktree(ctx, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    run_git(["worktree", "add", "--detach", "--quiet", str(path), sha], cwd=ctx.repo_root)
    try:
        yield path
    finally:
        _drop_worktree(ctx, path)


def _drop_worktree(ctx: RepoContext, path: Path) -> None:
    if path.exists():
        run_git(["worktree", "remove", "--force", str(path)], cwd=ctx.repo_root, check=False)
    # A `worktree add` killed half-way leaves a folder git does not know; it is ours (a
    # checkout of a commit that exists), so removing it loses nothing.
    if path.exists():
        shutil.rmtree(path)
    run_git(["worktree", "prune"], cwd=ctx.repo_root)
