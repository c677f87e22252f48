"""`worker conflicts`: which active tasks overlap, and which of those would really conflict."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from ai_skills.util.results import JsonResult
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.review.findings import Change, integration_of, task_change
from ai_skills.worker.review.records import record_change_request
from ai_skills.worker.review.treeops import rev, trial_merge
from ai_skills.worker.run.scopes import scopes_overlap
from ai_skills.worker.states import TERMINAL, TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.tasks import Task, get_task, list_tasks, transition


@dataclass(frozen=True)
class ConflictPair(JsonResult):
    """Two active tasks that may step on each other."""

    first: str
    second: str
    scopes: list[tuple[str, str]]  # overlapping declared scopes
    shared_files: list[str]  # files both branches change
    would_conflict: bool  # git merge-tree of the two heads conflicts
    conflict_files: list[str]


def find_conflicts(
    ctx: RepoContext, conn: Db, config: WorkerConfig
) -> list[ConflictPair]:
    """Pairs of non-terminal tasks whose scopes overlap or whose changes share files."""
    tasks = [t for t in list_tasks(conn) if t.state not in TERMINAL]
    changes = {
        t.id: task_change(ctx, conn, config, t) if t.current_attempt else None for t in tasks
    }
    pairs = []
    for a, b in combinations(tasks, 2):
        pair = _pair(ctx, a, b, changes[a.id], changes[b.id])
        if pair is not None:
            pairs.append(pair)
    return pairs


def _pair(
    ctx: RepoContext, a: Task, b: Task, change_a: Change | None, change_b: Change | None
) -> ConflictPair | None:
    scopes = scopes_overlap(a.scopes, b.scopes)
    shared: list[str] = []
    conflicts: list[str] = []
    if change_a is not None and change_b is not None:
        shared = sorted(set(change_a.files) & set(change_b.files))
        # Git can only conflict on a path both sides touch.
        if shared and change_a.head != change_b.head:
            conflicts = trial_merge(ctx.repo_root, change_a.head, change_b.head).conflicts
    if not scopes and not shared:
        return None
    return ConflictPair(a.id, b.id, scopes, shared, bool(conflicts), conflicts)


@dataclass(frozen=True)
class SentBack(JsonResult):
    """An approved task that no longer merges cleanly."""

    task_id: str
    files: list[str]


def recheck_approved(
    ctx: RepoContext, conn: Db, config: WorkerConfig, *, after: str
) -> list[SentBack]:
    """Send approved tasks that now conflict with their integration branch back for changes."""
    sent = []
    for task in list_tasks(conn, states={TaskState.APPROVED}):
        change = task_change(ctx, conn, config, task)
        integration = integration_of(config, task)
        target = rev(ctx.repo_root, f"refs/heads/{integration}")
        if change is None or target is None:
            continue
        files = trial_merge(ctx.repo_root, target, change.head).conflicts
        if files and _send_back(conn, task, integration, files, after=after):
            sent.append(SentBack(task.id, files))
    return sent


def conflict_feedback(integration: str, files: list[str]) -> str:
    """The change request text for a branch that conflicts with the integration branch."""
    return (
        f"Your branch conflicts with {integration} in: {', '.join(files)}. Merge "
        f"{integration} into your branch, resolve the conflicts, run the tests and commit."
    )


def _send_back(
    conn: Db, task: Task, integration: str, files: list[str], *, after: str
) -> bool:
    with transaction(conn):
        fresh = get_task(conn, task.id)
        if fresh.state != TaskState.APPROVED or fresh.version != task.version:
            return False
        record_change_request(conn, task.id, conflict_feedback(integration, files), count=False)
        transition(
            conn,
            fresh,
            TaskState.CHANGES_REQUESTED,
            action="recheck after merge",
            reason=f"conflicts with {integration} after {after}: {', '.join(files)}",
            data={"conflicts": files, "after": after},
        )
    return True
