"""What a reviewer must weigh about a task's change, before anyone looks at it.

The change (head, base, files, lines against the integration branch), the `[policy]` rules
that send it to a human, and the findings an approval must answer (no commits, files
outside the task's scopes). `tick` applies them to every task in review (`review_pass`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.review.policy import policy_reasons, scope_finding
from ai_skills.worker.review.records import get_review, void_if_stale
from ai_skills.worker.review.treeops import changed_files, changed_lines, merge_base, rev
from ai_skills.worker.run.worktrees import branch_sha
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.tasks import Task, get_attempt, get_task, list_tasks, transition


def integration_of(config: WorkerConfig, task: Task) -> str:
    """The branch a task merges into: `integration_branch` from config, else its base."""
    return config.integration_branch or task.base


@dataclass(frozen=True)
class Change:
    """What a task branch changes relative to where it meets the integration branch."""

    head: str
    base: str
    files: list[str]
    lines: int


def task_change(
    ctx: RepoContext, conn: Db, config: WorkerConfig, task: Task
) -> Change | None:
    """The task's change, or None when its branch does not exist."""
    head = branch_sha(ctx.repo_root, task.branch)
    if head is None:
        return None
    target = rev(ctx.repo_root, f"refs/heads/{integration_of(config, task)}")
    base = merge_base(ctx.repo_root, target, head) if target else None
    if base is None:
        attempt = get_attempt(conn, task.current_attempt)
        base = attempt.base_sha if attempt and attempt.base_sha else head
    files = changed_files(ctx.repo_root, base, head)
    return Change(head, base, files, changed_lines(ctx.repo_root, base, head))


def apply_policy(
    ctx: RepoContext, conn: Db, config: WorkerConfig, task: Task
) -> Task:
    """Move a task in review to needs_human when a `[policy]` rule says a human decides."""
    if task.state != TaskState.IN_REVIEW:
        return task
    reasons = _policy_for(ctx, conn, config, task)
    if not reasons:
        return task
    with transaction(conn):
        fresh = get_task(conn, task.id)
        if fresh.state != TaskState.IN_REVIEW or fresh.version != task.version:
            return fresh
        return transition(
            conn,
            fresh,
            TaskState.NEEDS_HUMAN,
            action="policy",
            reason="needs a human: " + "; ".join(reasons),
            data={"rules": reasons},
        )


def _policy_for(
    ctx: RepoContext, conn: Db, config: WorkerConfig, task: Task
) -> list[str]:
    change = task_change(ctx, conn, config, task)
    return [] if change is None else change_policy(conn, config, task, change)


def change_policy(
    conn: Db, config: WorkerConfig, task: Task, change: Change
) -> list[str]:
    """The `[policy]` rules that say a human decides about this change."""
    return policy_reasons(
        config.policy,
        files=change.files,
        lines=change.lines,
        change_requests=get_review(conn, task.id).change_requests,
        scopes=task.scopes,
    )


def change_findings(config: WorkerConfig, task: Task, change: Change) -> list[str]:
    """What a reviewer must weigh before approving (the policy's own rules aside)."""
    found = []
    if change.head == change.base:
        found.append(
            f"no commits: {task.branch} has nothing beyond {integration_of(config, task)}, "
            "so there is nothing to approve; if there was nothing to do, close it: "
            f"`worker cancel {task.id} --reason 'nothing to do' --cleanup`"
        )
    if config.policy.outside_scope == "reason":
        outside = scope_finding(change.files, task.scopes)
        if outside:
            found.append(f"{outside}; approving needs --reason TEXT saying why that is fine")
    return found


def check_task(
    ctx: RepoContext, conn: Db, config: WorkerConfig, task_id: str, *, fetch: bool = True
) -> Task:
    """Void a stale approval and apply the policy rules; the task as it is afterwards.

    `fetch`: bring the branch from the shared remote first, when `remote` is set (the
    daemon's pass does not: it would fetch every task in review every few seconds).
    """
    remote = config.remote if fetch else None
    task = void_if_stale(ctx, conn, get_task(conn, task_id), remote=remote)
    return apply_policy(ctx, conn, config, task)


def review_pass(ctx: RepoContext, conn: Db, config: WorkerConfig) -> list[Task]:
    """`check_task` for every task in review or approved; the tasks whose state changed.

    Several hosts: only the tasks that ran here. Without a fetch this clone's copy of
    another host's branch is missing or old, which says nothing about it (it once voided
    every approval of tasks run elsewhere as "deleted"); the host that ran a task judges it
    in its own pass, and `review` / `merge` fetch and judge it anywhere.
    """
    from ai_skills.worker.hosts import is_here, this_host

    here = this_host(ctx.worker_dir)
    changed = []
    for task in list_tasks(conn, states={TaskState.IN_REVIEW, TaskState.APPROVED}):
        if not is_here(task.host, here):
            continue
        after = check_task(ctx, conn, config, task.id, fetch=False)
        if after.state != task.state:
            changed.append(after)
    return changed
