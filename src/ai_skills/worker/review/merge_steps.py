"""The checkpointed steps of `worker merge`; each looks at the world before it acts.

test_merge -> gates -> update_ref -> sync_checkout -> push -> remove_worktree ->
delete_branch, then finish. `MergeRun` is the merge record (a row of `merges`) the steps
update. `push` (with `remote` set: several hosts) brings the integration branch to the
shared remote; until it has landed the task stays `merging` and `worker merge` resumes there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ai_skills.util.git import run_git
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.review.conflicts import conflict_feedback
from ai_skills.worker.review.gates import MERGE, Progress, latest_results, quiet, run_gates, verdict
from ai_skills.worker.review.merge_checkout import (
    dirty_checkout,
    index_at,
    integration_checkout,
    temporary_worktree,
)
from ai_skills.worker.review.merge_remote import delete_task_branch, push_integration
from ai_skills.worker.review.records import record_change_request
from ai_skills.worker.review.treeops import (
    commit_tree,
    commits_between,
    is_ancestor,
    rev,
    trial_merge,
)
from ai_skills.worker.run.clones import is_clone
from ai_skills.worker.run.workspace_git import remove_workspace, workspace_dirty, workspace_head
from ai_skills.worker.run.worktrees import (
    branch_sha,
    delete_branch,
    registered_worktrees,
)
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store.merges import finish_merge, save_merge_step
from ai_skills.worker.store.tasks import mark_worktree_removed
from ai_skills.worker.tasks import get_task, record_event, transition

# A branch that a human keeps moving is re-merged this often before we give up for now.
_MAX_REDO = 3


@dataclass
class MergeRun:
    """The merge record of one task (a row of `merges`), updated as steps complete."""

    task_id: str
    strategy: str
    integration: str
    source_sha: str
    started_at: float
    target_sha: str | None = None
    merged_sha: str | None = None
    step: str = "begin"
    outcome: str = ""  # merged | already_merged | conflict | gates_failed | refused | unpushed
    conflicts: list[str] = field(default_factory=list)
    gates: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    progress: Progress = quiet  # not stored: how the caller shows slow steps


class MergeStopped(Exception):
    """A step decided the merge ends here (conflict, failing gates, refusal)."""


REBASE_REFUSAL = (
    "--strategy rebase is only possible when the branch already contains {0} (a fast-forward); "
    "replaying commits onto a newer {0} is not supported: use --strategy merge or squash, or "
    "let the agent rebase the branch (a new head to review)"
)


def save_step(conn: Db, run: MergeRun, step: str, *, done: bool = False) -> None:
    run.step = step
    with transaction(conn):
        save_merge_step(
            conn,
            run.task_id,
            step,
            target_sha=run.target_sha,
            merged_sha=run.merged_sha,
            done_at=time.time() if done else None,
            detail=run.outcome,
        )
        append_event(
            conn,
            kind="merge_step",
            task_id=run.task_id,
            data={"step": step, "target": run.target_sha, "merged": run.merged_sha},
        )


def _end(
    conn: Db, run: MergeRun, target: TaskState, outcome: str, reason: str
) -> None:
    """Close the merge record and move the task out of `merging` (one transaction)."""
    run.outcome = outcome
    with transaction(conn):
        task = get_task(conn, run.task_id)
        if target == TaskState.CHANGES_REQUESTED:
            record_change_request(conn, run.task_id, reason, count=False)
        transition(conn, task, target, action="merge", reason=reason, data={"outcome": outcome})
        finish_merge(conn, run.task_id, done_at=time.time(), outcome=outcome)


def _step_test_merge(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
    """Check ancestry and build the merged commit in memory (no checkout is touched)."""
    repo = ctx.repo_root
    target = rev(repo, f"refs/heads/{run.integration}")
    if target is None:
        _end(conn, run, TaskState.APPROVED, "refused", f"{run.integration} was deleted")
        run.notes.append(f"integration branch {run.integration} disappeared; nothing merged")
        raise MergeStopped
    if run.merged_sha is not None and target == run.merged_sha:
        return  # our own result is in place already (a crash right after update_ref)
    run.target_sha = target
    if is_ancestor(repo, run.source_sha, target):
        run.merged_sha = target  # already contained (merged by hand, or a resumed merge)
        return
    if run.strategy == "rebase":
        if not is_ancestor(repo, target, run.source_sha):
            _end(conn, run, TaskState.APPROVED, "refused", REBASE_REFUSAL.format(run.integration))
            run.notes.append(REBASE_REFUSAL.format(run.integration))
            raise MergeStopped
        run.merged_sha = run.source_sha
        return
    trial = trial_merge(repo, target, run.source_sha)
    if not trial.clean or trial.tree is None:
        run.conflicts = trial.conflicts
        _end(
            conn,
            run,
            TaskState.CHANGES_REQUESTED,
            "conflict",
            conflict_feedback(run.integration, trial.conflicts),
        )
        raise MergeStopped
    run.merged_sha = commit_tree(
        repo, trial.tree, _parents(run, target), _message(conn, run), date=run.started_at
    )


def _parents(run: MergeRun, target: str) -> list[str]:
    return [target, run.source_sha] if run.strategy == "merge" else [target]


def _message(conn: Db, run: MergeRun) -> str:
    task = get_task(conn, run.task_id)
    if run.strategy == "squash":
        return (
            f"{task.title}\n\nSquashed from {task.branch} at {run.source_sha} "
            f"(worker task {task.id}).\n"
        )
    return f"Merge task {task.id}: {task.title}\n\nMerged {task.branch} at {run.source_sha}.\n"


def _step_gates(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
    """Run the gates on the merged result in a temporary worktree (reusing earlier results)."""
    assert run.merged_sha is not None
    if run.merged_sha == run.target_sha or not config.gates.commands:
        return
    done = verdict(
        config.gates,
        latest_results(conn, run.task_id, run.merged_sha, purpose=MERGE),
        sha=run.merged_sha,
    )
    if not done.passed:
        with temporary_worktree(ctx, run.task_id, run.merged_sha) as checkout:
            done = run_gates(
                ctx,
                conn,
                run.task_id,
                config.gates,
                checkout=checkout,
                sha=run.merged_sha,
                purpose=MERGE,
                progress=run.progress,
            )
    run.gates = done.as_dict()
    if not done.passed:
        _end(
            conn,
            run,
            TaskState.CHANGES_REQUESTED,
            "gates_failed",
            f"{done.problem} (the merge with {run.integration})",
        )
        raise MergeStopped


def _step_update_ref(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
    """Move the integration branch with a compare-and-swap; redo the merge if it moved."""
    for _ in range(_MAX_REDO):
        assert run.merged_sha is not None and run.target_sha is not None
        tip = rev(ctx.repo_root, f"refs/heads/{run.integration}")
        if tip == run.merged_sha or (tip and is_ancestor(ctx.repo_root, run.merged_sha, tip)):
            return  # done before a crash, or someone built on it already
        if tip == run.target_sha:
            _refuse_dirty_checkout_during(ctx, conn, run)
            proc = run_git(
                [
                    "update-ref",
                    "-m",
                    f"worker merge {run.task_id}",
                    f"refs/heads/{run.integration}",
                    run.merged_sha,
                    run.target_sha,
                ],
                cwd=ctx.repo_root,
                check=False,
            )
            if proc.returncode == 0:
                return
        run.notes.append(
            f"{run.integration} moved meanwhile (now {(tip or 'deleted')[:12]}); merged again"
        )
        save_step(conn, run, "begin")
        _step_test_merge(ctx, conn, config, run)
        _step_gates(ctx, conn, config, run)
        save_step(conn, run, "gates")
    _end(conn, run, TaskState.APPROVED, "refused", f"{run.integration} kept moving; try again")
    raise MergeStopped


def _refuse_dirty_checkout_during(
    ctx: RepoContext, conn: Db, run: MergeRun
) -> None:
    why = dirty_checkout(ctx, run.integration, run.target_sha, run.merged_sha)
    if why:
        _end(conn, run, TaskState.APPROVED, "refused", why)
        run.notes.append(why)
        raise MergeStopped


def _step_push(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
    """With `remote`: push the integration branch there (merge_remote.py); until it has
    landed the task stays `merging` and `worker merge` resumes here."""
    if not config.remote:
        return
    why = push_integration(ctx, conn, config.remote, run.task_id, run.integration)
    if why:
        run.outcome = "unpushed"
        run.notes.append(why)
        raise MergeStopped


def _step_sync_checkout(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
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


def _step_remove_worktree(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
    """Remove the task's worktree, unless it holds uncommitted work."""
    task = get_task(conn, run.task_id)
    if not task.worktree or task.worktree_removed:
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


def _step_delete_branch(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
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


def _delete_remote_branch(
    config: WorkerConfig, ctx: RepoContext, conn: Db, run: MergeRun
) -> None:
    if config.remote:
        note = delete_task_branch(ctx, conn, config.remote, run.task_id, run.source_sha)
        run.notes += [note] if note else []


def step_finish(
    ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun
) -> None:
    """Mark the task merged and close the merge record."""
    assert run.merged_sha is not None
    if run.merged_sha == run.target_sha:
        # The integration branch held the work already (merged by hand): it did not move,
        # and saying "merged into ... as <its old tip>" would claim it did.
        _end(
            conn,
            run,
            TaskState.MERGED,
            "already_merged",
            f"nothing to merge: {run.integration} already contained {run.source_sha[:12]} "
            f"(at {run.merged_sha[:12]}); {run.integration} did not move",
        )
        return
    commits = len(commits_between(ctx.repo_root, run.target_sha or run.merged_sha, run.merged_sha))
    _end(
        conn,
        run,
        TaskState.MERGED,
        "merged",
        f"merged into {run.integration} as {run.merged_sha[:12]} ({commits} new commit(s))",
    )


Step = Callable[[RepoContext, Db, WorkerConfig, MergeRun], None]
STEPS: list[tuple[str, Step]] = [
    ("test_merge", _step_test_merge),
    ("gates", _step_gates),
    ("update_ref", _step_update_ref),
    ("sync_checkout", _step_sync_checkout),
    ("push", _step_push),
    ("remove_worktree", _step_remove_worktree),
    ("delete_branch", _step_delete_branch),
]
STEP_NAMES = ["begin", *(name for name, _ in STEPS)]
