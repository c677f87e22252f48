"""The checkpointed steps of `worker merge`; each looks at the world before it acts.

test_merge -> gates -> update_ref (here: build the merged commit, check it, move the
integration branch) -> sync_checkout -> push -> remove_worktree -> delete_branch
(`merge_cleanup`), then finish. `MergeRun` (`merge_run`) is the merge record the steps
update. `push` (with `remote` set: several hosts) brings the integration branch to the
shared remote; until it has landed the task stays `merging` and `worker merge` resumes there.
"""

from __future__ import annotations

from collections.abc import Callable

from ai_skills.util.git import run_git
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.review import merge_cleanup
from ai_skills.worker.review.conflicts import conflict_feedback
from ai_skills.worker.review.gates import MERGE, latest_results, run_gates, verdict
from ai_skills.worker.review.merge_checkout import dirty_checkout, temporary_worktree
from ai_skills.worker.review.merge_run import (
    REBASE_REFUSAL,
    MergeRun,
    MergeStopped,
    end_merge,
    save_step,
)
from ai_skills.worker.review.treeops import commit_tree, is_ancestor, rev, trial_merge
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db
from ai_skills.worker.tasks import get_task

# A branch that a human keeps moving is re-merged this often before we give up for now.
_MAX_REDO = 3


def _step_test_merge(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
    """Check ancestry and build the merged commit in memory (no checkout is touched)."""
    repo = ctx.repo_root
    target = rev(repo, f"refs/heads/{run.integration}")
    if target is None:
        end_merge(conn, run, TaskState.APPROVED, "refused", f"{run.integration} was deleted")
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
            refusal = REBASE_REFUSAL.format(run.integration)
            end_merge(conn, run, TaskState.APPROVED, "refused", refusal)
            run.notes.append(refusal)
            raise MergeStopped
        run.merged_sha = run.source_sha
        return
    trial = trial_merge(repo, target, run.source_sha)
    if not trial.clean or trial.tree is None:
        run.conflicts = trial.conflicts
        end_merge(
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


def _step_gates(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
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
        end_merge(
            conn,
            run,
            TaskState.CHANGES_REQUESTED,
            "gates_failed",
            f"{done.problem} (the merge with {run.integration})",
        )
        raise MergeStopped


def _step_update_ref(ctx: RepoContext, conn: Db, config: WorkerConfig, run: MergeRun) -> None:
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
    end_merge(conn, run, TaskState.APPROVED, "refused", f"{run.integration} kept moving; try again")
    raise MergeStopped


def _refuse_dirty_checkout_during(ctx: RepoContext, conn: Db, run: MergeRun) -> None:
    why = dirty_checkout(ctx, run.integration, run.target_sha, run.merged_sha)
    if why:
        end_merge(conn, run, TaskState.APPROVED, "refused", why)
        run.notes.append(why)
        raise MergeStopped


Step = Callable[[RepoContext, Db, WorkerConfig, MergeRun], None]
STEPS: list[tuple[str, Step]] = [
    ("test_merge", _step_test_merge),
    ("gates", _step_gates),
    ("update_ref", _step_update_ref),
    ("sync_checkout", merge_cleanup.step_sync_checkout),
    ("push", merge_cleanup.step_push),
    ("remove_worktree", merge_cleanup.step_remove_worktree),
    ("delete_branch", merge_cleanup.step_delete_branch),
]
STEP_NAMES = ["begin", *(name for name, _ in STEPS)]
