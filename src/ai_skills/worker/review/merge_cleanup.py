"""The steps of `worker merge` after the integration branch moved: bring its checkout along,
push it to the shared remote (several hosts), remove the task's worktree and branch, finish.

Each looks at the world before it acts (a resumed merge repeats none of them), and none
removes work that was not merged: a dirty worktree or a moved branch is kept, with a note.
"""

from __future__ import annotations

from pathlib import Path

from ai_skills.util.git import run_git
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.review.merge_checkout import index_at, integration_checkout
from ai_skills.worker.review.merge_remote import delete_task_branch, push_integration
from ai_skills.worker.review.merge_run import MergeRun, MergeStopped, end_merge
from ai_skills.worker.review.treeops import commits_between, is_ancestor, rev
from ai_skills.worker.run.clones import is_clone
from ai_skills.worker.run.workspace_git import (
    disown_if_foreign,
    remove_workspace,
    workspace_dirty,
    workspace_head,
)
from ai_skills.worker.run.worktrees import branch_sha, delete_branch, registered_worktrees
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store.tasks import mark_worktree_removed
from ai_skills.worker.tasks import get_task, record_event


def step_push(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
    """With `remote`: push the integration branch there (merge_remote.py); until it has
    landed the task stays `merging` and `worker merge` resumes here."""
    if not config.remote:
        return
    why = push_integration(ctx, conn, config.remote, run.task_id, run.integration)
    if why:
        run.outcome = "unpushed"
        run.notes.append(why)
        raise MergeStopped


def step_sync_checkout(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
    """Bring a checkout of the integration branch from the old commit to the merged one."""
    checkout = integration_checkout(ctx, run.integration)
    assert run.merged_sha is not None and run.target_sha is not None
    if checkout is None or not checkout.exists() or run.merged_sha == run.target_sha:
        return
    if index_at(checkout, run.merged_sha):
        return
    if not index_at(checkout, run.target_sha):
        run.notes.append(
            f"{checkout}: its index is neither at the old nor the new {run.integration}; "
            "left alone, look at `git status` there"
        )
        return
    # Two-tree read-tree: the fast-forward of index and files that `git merge` would do.
    run_git(["read-tree", "-m", "-u", run.target_sha, run.merged_sha], cwd=checkout)


def step_remove_worktree(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
    """Remove the task's worktree, unless it holds uncommitted work."""
    task = get_task(conn, run.task_id)
    if not task.worktree or task.worktree_removed:
        return
    foreign = disown_if_foreign(ctx, conn, task.id, task.branch, task.worktree)
    if foreign:
        run.notes.append(foreign)
        return
    path = Path(task.worktree)
    if path.exists() and workspace_dirty(ctx, path):
        run.notes.append(f"worktree {path} kept: it has uncommitted changes")
        return
    if is_clone(path) and workspace_head(ctx, path) != run.source_sha:
        run.notes.append(f"worktree {path} kept: it has commits that were not merged")
        return
    if remove_workspace(ctx, task.id, path):
        with transaction(conn):
            mark_worktree_removed(conn, task.id)
            append_event(conn, kind="worktree_removed", task_id=task.id, data={"path": str(path)})


def step_delete_branch(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
    """Delete the task branch; squashed or rebased commits stay under refs/worker/merged/."""
    task = get_task(conn, run.task_id)
    tip = branch_sha(ctx.repo_root, task.branch)
    if tip is None:
        _delete_remote_branch(config, ctx, conn, run)  # resumed after the local deletion
        return
    if tip != run.source_sha:
        run.notes.append(f"branch {task.branch} kept: it moved after approval (now {tip[:12]})")
        return
    if task.branch in registered_worktrees(ctx.repo_root).values():
        run.notes.append(f"branch {task.branch} kept: a worktree still has it checked out")
        return
    target = rev(ctx.repo_root, f"refs/heads/{run.integration}") or ""
    if not is_ancestor(ctx.repo_root, tip, target):
        keep = f"refs/worker/merged/{task.id}"
        run_git(["update-ref", keep, tip], cwd=ctx.repo_root)
        run.notes.append(f"original commits of {task.branch} kept as {keep}")
    delete_branch(ctx.repo_root, task.branch)
    record_event(
        conn,
        kind="branch_deleted",
        task_id=task.id,
        data={"branch": task.branch, "merged_into": run.integration, "sha": tip},
    )
    _delete_remote_branch(config, ctx, conn, run)


def _delete_remote_branch(config: WorkerConfig, ctx: RepoContext, conn: Db, run: MergeRun) -> None:
    if config.remote:
        note = delete_task_branch(ctx, conn, config.remote, run.task_id, run.source_sha)
        run.notes += [note] if note else []


def step_finish(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
    """Mark the task merged and close the merge record."""
    assert run.merged_sha is not None
    if run.merged_sha == run.target_sha:
        # The integration branch held the work already (merged by hand): it did not move,
        # and saying "merged into ... as <its old tip>" would claim it did.
        end_merge(
            conn,
            run,
            TaskState.MERGED,
            "already_merged",
            f"nothing to merge: {run.integration} already contained {run.source_sha[:12]} "
            f"(at {run.merged_sha[:12]}); {run.integration} did not move",
        )
        return
    commits = len(commits_between(ctx.repo_root, run.target_sha or run.merged_sha, run.merged_sha))
    end_merge(
        conn,
        run,
        TaskState.MERGED,
        "merged",
        f"merged into {run.integration} as {run.merged_sha[:12]} ({commits} new commit(s))",
    )
