"""A task that starts takes up its branch from the shared remote (`remote`): it may have
run on another host, which pushed `worker/<ID>` there (remote_branch.py).

Before the workspace is prepared: the task's clone on this host (if any) is fetched back,
then the remote's branch is fetched and the local branch created from it or
fast-forwarded to it; after, a clone that was already here is fast-forwarded too. Work is
never dropped: when this host and the remote each have commits the other lacks, the start
is refused with both commits named, and nothing moves.
"""

from __future__ import annotations

from pathlib import Path

from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import BranchDivergedError
from ai_skills.worker.run.clones import fetch_back, is_clone, made_here
from ai_skills.worker.run.remote_branch import Brought, bring_branch, diverged_detail
from ai_skills.worker.run.workspace_git import tools_sandboxed, workspace_git, workspace_head
from ai_skills.worker.run.worktrees import is_ancestor
from ai_skills.worker.tasks import Task


def existing_clone(
    common_dir: Path, task_id: str, path: Path, earlier: Path | None
) -> Path | None:
    """The task's clone on this host before the start: where it should be, or where it was
    (the store's `earlier`). A clone at `path` that worker did not make for this task is
    not its own: nothing is fetched from it (clones.make_clone refuses it)."""
    for place in (path, earlier):
        if place is None or not is_clone(place):
            continue
        if place == earlier or made_here(common_dir, task_id, place):
            return place
    return None


def take_up_remote(ctx: RepoContext, task: Task, remote: str, *, clone: Path | None) -> Brought:
    """Bring the remote's `worker/<ID>` into the main repository before the workspace is made.

    Raises BranchDivergedError (nothing moved) or RemoteUnreachableError.
    """
    if clone is not None:
        # Commits made there that the last supervisor never fetched (it was killed) count.
        fetch_back(ctx.repo_root, ctx.common_dir, clone, task.branch, sandboxed=tools_sandboxed())
    brought = bring_branch(ctx.repo_root, remote, task.branch)
    if brought.outcome == "diverged":
        raise BranchDivergedError(
            task_id=task.id,
            detail="not started: " + diverged_detail(remote, task.branch, brought.local,
                                                      brought.remote),
        )
    return brought


def take_up_for_review(ctx: RepoContext, task: Task, remote: str) -> Brought:
    """Bring the remote's `worker/<ID>` into the main repository for review or merge.

    Raises BranchDivergedError (nothing moved) or RemoteUnreachableError.
    """
    brought = bring_branch(ctx.repo_root, remote, task.branch)
    if brought.outcome == "diverged":
        raise BranchDivergedError(
            task_id=task.id,
            detail="stopped, nothing was changed: " + diverged_detail(
                remote, task.branch, brought.local, brought.remote
            ),
        )
    return brought


def catch_up_clone(ctx: RepoContext, task: Task, path: Path, brought: Brought) -> None:
    """Fast-forward a clone that was here before to the commit taken up from the remote.

    Its uncommitted files stay (git refuses a fast-forward that would overwrite one: then
    the start is refused and says so).
    """
    if brought.outcome not in ("created", "fast_forwarded") or not is_clone(path):
        return
    target = brought.local
    assert target is not None
    head = workspace_head(ctx, path)
    if head == target:
        return
    if head is not None and not is_ancestor(ctx.repo_root, head, target):
        raise BranchDivergedError(
            task_id=task.id,
            detail="not started: " + diverged_detail(
                remote="the remote", branch=task.branch, local=head, theirs=target,
                here=f"the clone {path}",
            ),
        )
    on = workspace_git(ctx, path, ["symbolic-ref", "--quiet", "HEAD"], check=False)
    if on.stdout.strip() != f"refs/heads/{task.branch}":
        raise BranchDivergedError(
            task_id=task.id,
            detail=f"not started: the clone {path} does not have {task.branch} checked out; "
            f"check it out there (its commits stay), then start the task again",
        )
    # The commit is in the main repository's objects, which the clone borrows. The clone's
    # config is its agent's: no hooks, no fsmonitor (and a sandbox when bwrap runs).
    proc = workspace_git(
        ctx, path,
        ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "merge", "--ff-only",
         "-q", target],
        writable=True, check=False,
    )
    if proc.returncode != 0:
        raise BranchDivergedError(
            task_id=task.id,
            detail=f"not started: the clone {path} cannot move from {(head or '?')[:12]} to "
            f"{target[:12]} (taken up from the remote): {proc.stderr.strip()[-300:]}; commit "
            "or remove its local changes there, then start the task again",
        )
