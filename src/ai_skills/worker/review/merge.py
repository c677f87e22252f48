"""`worker merge`: an approved task into its integration branch, as checkpointed steps.

The merged commit is built with merge-tree and commit-tree (no checkout changes), its gates
run in a temporary worktree, and the integration branch moves with a compare-and-swap
`update-ref` (steps in `merge_steps`, then `merge_cleanup`). Each step looks at the world
before it acts, so running `worker merge ID` again after a crash resumes where it stopped,
to the same commit.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ai_skills.errors import UsageError
from ai_skills.util.fs import acquire_flock
from ai_skills.util.results import JsonResult
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ConcurrentUpdateError, MergeBusyError, ReviewRefusedError
from ai_skills.worker.process_identity import is_alive, start_token
from ai_skills.worker.review import merge_steps
from ai_skills.worker.review.conflicts import SentBack, recheck_approved
from ai_skills.worker.review.findings import integration_of
from ai_skills.worker.review.gates import Progress, quiet
from ai_skills.worker.review.merge_checkout import refuse_dirty_checkout
from ai_skills.worker.review.merge_cleanup import step_finish
from ai_skills.worker.review.merge_run import REBASE_REFUSAL, MergeRun, MergeStopped, save_step
from ai_skills.worker.review.records import get_review, void_if_stale
from ai_skills.worker.review.treeops import is_ancestor, rev
from ai_skills.worker.run.remote_branch import fetch_branch
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.store.attempts import first_base_sha
from ai_skills.worker.store.merges import begin_merge, open_merge_row
from ai_skills.worker.tasks import Task, get_task, transition

STRATEGIES = ("merge", "squash", "rebase")


@dataclass(frozen=True)
class MergeResult(JsonResult):
    """What `worker merge` did."""

    task_id: str
    state: str
    outcome: str  # merged | conflict | gates_failed | refused
    strategy: str
    integration: str
    source_sha: str
    target_sha: str | None
    merged_sha: str | None
    conflicts: list[str]
    gates: dict[str, object]
    sent_back: list[SentBack]
    notes: list[str]


@contextmanager
def merge_lock(ctx: RepoContext, task_id: str, *, wait: float) -> Iterator[None]:
    """One merge at a time per repository; a second one waits `wait` seconds, then is refused."""
    path = ctx.worker_dir / "merge.lock"
    fd = acquire_flock(path, wait=wait, poll=0.05, mode=0o644)
    if fd is None:
        raise MergeBusyError(task_id=task_id, holder=_holder(path), waited=wait)
    try:
        me = os.getpid()
        record = json.dumps({"task": task_id, "pid": me, "token": start_token(me)})
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # a later reader must never take our name for its holder's
    finally:
        os.close(fd)  # closing releases the lock; so does a crash


def _holder(path: Path, *, patience: float = 2.0) -> str:
    """The task of the merge holding the lock.

    The holder writes its name right after taking the lock, so a reader may come in between
    (empty file, or a record a crashed merge left): read again until a live process is named.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            with open(path, "rb") as handle:
                record = json.loads(handle.read(1000).decode(errors="replace") or "{}")
        except (OSError, ValueError):
            record = {}
        if isinstance(record, dict) and is_alive(record.get("pid"), record.get("token")):
            return str(record.get("task", ""))
        if time.monotonic() >= deadline:
            return ""
        time.sleep(0.05)


def check_strategy(strategy: str | None) -> None:
    """UsageError (exit 2) for a strategy that does not exist; None means the default."""
    if strategy is not None and strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")


def not_mergeable(task: Task) -> str:
    """Why a task that is not approved cannot be merged, and what would move it on."""
    why = f"is {task.state.value}{f' ({task.reason})' if task.reason else ''}"
    state = task.state
    if state in (TaskState.IN_REVIEW, TaskState.NEEDS_HUMAN):
        human = " --human" if state == TaskState.NEEDS_HUMAN else ""
        return (
            f"{why}; only an approved task can be merged: review it, then "
            f"`worker review {task.id} --approve{human}`"
        )
    if state == TaskState.CHANGES_REQUESTED:
        return (
            f"{why}; changes were requested, so its agent works on it again first: "
            f"`worker start {task.id}` (the task comes back to review when it is done)"
        )
    if state == TaskState.MERGED:
        return f"is already merged ({task.reason}); nothing to do"
    if state == TaskState.FAILED:
        return f"{why}; a failed task cannot be merged: `worker retry {task.id}` runs it again"
    if state == TaskState.CANCELLED:
        return f"{why}; a cancelled task cannot be merged"
    return f"{why}; only an approved task can be merged, and this one is not in review yet"


def merge_busy(ctx: RepoContext) -> bool:
    """True while some process holds the merge lock."""
    try:
        with merge_lock(ctx, "-", wait=0):
            return False
    except MergeBusyError:
        return True


def merge_task(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    task_id: str,
    *,
    strategy: str | None = None,
    wait: float = 0.0,
    progress: Progress = quiet,
) -> MergeResult:
    """Merge an approved task, or resume its interrupted merge."""
    check_strategy(strategy)
    with merge_lock(ctx, task_id, wait=wait):
        run = _load_or_begin(ctx, conn, config, task_id, strategy)
        run.progress = progress
        try:
            for name, step in merge_steps.STEPS:
                if merge_steps.STEP_NAMES.index(name) <= merge_steps.STEP_NAMES.index(run.step):
                    continue
                step(ctx, conn, config, run)
                save_step(conn, run, name)
            step_finish(ctx, conn, config, run)
        except MergeStopped:
            pass
        sent = recheck_approved(ctx, conn, config, after=f"merge of {task_id}")
    return _result(conn, run, sent)


def _result(conn: Db, run: MergeRun, sent: list[SentBack]) -> MergeResult:
    return MergeResult(
        run.task_id,
        get_task(conn, run.task_id).state.value,
        run.outcome,
        run.strategy,
        run.integration,
        run.source_sha,
        run.target_sha,
        run.merged_sha,
        run.conflicts,
        run.gates,
        sent,
        run.notes,
    )


def _load_or_begin(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    task_id: str,
    strategy: str | None,
) -> MergeRun:
    row = open_merge_row(conn, task_id)
    task = get_task(conn, task_id)
    if row is not None and task.state == TaskState.MERGING:
        run = MergeRun(
            task_id,
            row["strategy"],
            row["integration"],
            row["source_sha"],
            row["started_at"],
            row["target_sha"],
            row["merged_sha"],
            row["step"],
        )
        if strategy and strategy != run.strategy:
            run.notes.append(f"resumed the interrupted {run.strategy} merge (not {strategy})")
        run.notes.append(f"resumed after step {run.step}")
        return run
    return _begin(ctx, conn, config, task_id, strategy or config.merge_strategy)


def _begin(
    ctx: RepoContext, conn: Db, config: WorkerConfig, task_id: str, strategy: str
) -> MergeRun:
    task = void_if_stale(ctx, conn, get_task(conn, task_id), remote=config.remote)
    if task.state != TaskState.APPROVED:
        raise ReviewRefusedError(task_id=task_id, detail=not_mergeable(task))
    source = get_review(conn, task_id).approved_sha
    assert source is not None  # void_if_stale proved the branch head equals it
    integration = integration_of(config, task)
    target = rev(ctx.repo_root, f"refs/heads/{integration}")
    if target is None:
        raise ReviewRefusedError(
            task_id=task_id, detail=f"integration branch {integration!r} does not exist"
        )
    if _never_committed(conn, task_id, source):
        raise ReviewRefusedError(
            task_id=task_id,
            detail=f"{task.branch} has no commits ({source[:12]} is where it started): nothing "
            f"to merge; if there was nothing to do, close it: "
            f"`worker cancel {task_id} --reason 'nothing to do' --cleanup`",
        )
    if config.remote:
        _refuse_behind_remote(ctx, task_id, config.remote, integration, target)
    if strategy == "rebase" and not is_ancestor(ctx.repo_root, target, source):
        raise ReviewRefusedError(task_id=task_id, detail=REBASE_REFUSAL.format(integration))
    refuse_dirty_checkout(ctx, task_id, integration)
    run = MergeRun(task_id, strategy, integration, source, time.time())
    with transaction(conn):
        fresh = get_task(conn, task_id)
        if fresh.version != task.version:  # re-approved or voided while we looked
            raise ConcurrentUpdateError(task_id=task_id)
        transition(
            conn, fresh, TaskState.MERGING, action="merge", reason=f"{strategy} into {integration}"
        )
        begin_merge(
            conn,
            task_id,
            strategy=strategy,
            integration=integration,
            source_sha=source,
            started_at=run.started_at,
        )
    return run


def _refuse_behind_remote(
    ctx: RepoContext, task_id: str, remote: str, integration: str, target: str
) -> None:
    """Refuse a merge into an integration branch that lacks commits of the remote's: its
    push would have to overwrite them. Nothing has changed yet."""
    theirs = fetch_branch(ctx.repo_root, remote, integration)
    if theirs is None or theirs == target or is_ancestor(ctx.repo_root, theirs, target):
        return
    raise ReviewRefusedError(
        task_id=task_id,
        detail=f"{integration} here ({target[:12]}) lacks commits of {remote}'s {integration} "
        f"({theirs[:12]}), and the merge is pushed there, never forced; bring it up to date "
        f"first (`git pull --ff-only {remote} {integration}` where it is checked out), then "
        f"`worker merge {task_id}` again (nothing was changed)",
    )


def _never_committed(conn: Db, task_id: str, source: str) -> bool:
    """True when `source` is the commit the task's first attempt started from."""
    return first_base_sha(conn, task_id) == source


# git 2.39 cannot replay one commit onto another with merge-tree (`--merge-base` arrived in
# 2.40), and replaying in a checkout would touch one; so rebase only when it is a fast-forward.
