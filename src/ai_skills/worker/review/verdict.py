"""`worker review`: what changed, gate results and policy; approve or request changes.

An approval is bound to the branch head it was given for; a later commit voids it (checked
by `tick`, `status`, `review` and `merge`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ai_skills.errors import AiSkillsError
from ai_skills.util.results import JsonResult
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ConcurrentUpdateError, ReviewRefusedError
from ai_skills.worker.review.findings import (
    change_findings,
    change_policy,
    check_task,
    integration_of,
    task_change,
)
from ai_skills.worker.review.gates import latest_results, verdict
from ai_skills.worker.review.records import (
    Review,
    get_review,
    record_approval,
    record_change_request,
    void_if_stale,
)
from ai_skills.worker.review.treeops import (
    commit_lines,
    diff_stat,
    rev,
    trial_merge,
)
from ai_skills.worker.run.worktrees import branch_sha
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.tasks import Task, get_task, transition

REVIEWABLE = frozenset({TaskState.IN_REVIEW, TaskState.NEEDS_HUMAN})


@dataclass(frozen=True)
class ReviewView(JsonResult):
    """Everything `worker review ID` shows."""

    task_id: str
    title: str
    state: str
    reason: str
    branch: str
    integration: str
    review: Review
    gates: dict[str, object]
    head_sha: str | None = None  # None when the branch does not exist
    base_sha: str | None = None
    diff_stat: str = ""
    commits: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    lines: int = 0
    policy: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # no commits, files outside the scopes
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def show_review(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    task_id: str,
) -> ReviewView:
    """The diff stat, commits, gate results on the head, policy and conflicts of a task."""
    task = check_task(ctx, conn, config, task_id)
    change = task_change(ctx, conn, config, task)
    integration = integration_of(config, task)
    if change is None:
        return ReviewView(
            task_id=task.id,
            title=task.title,
            state=task.state.value,
            reason=task.reason,
            branch=task.branch,
            integration=integration,
            review=get_review(conn, task.id),
            gates=verdict(config.gates, [], sha="0" * 40).as_dict(),
            notes=[f"branch {task.branch} does not exist"],
        )
    results = latest_results(conn, task.id, change.head)
    target = rev(ctx.repo_root, f"refs/heads/{integration}")
    conflicts = trial_merge(ctx.repo_root, target, change.head).conflicts if target else []
    review = get_review(conn, task.id)
    return ReviewView(
        task_id=task.id,
        title=task.title,
        state=task.state.value,
        reason=task.reason,
        branch=task.branch,
        integration=integration,
        head_sha=change.head,
        base_sha=change.base,
        diff_stat=diff_stat(ctx.repo_root, change.base, change.head),
        commits=commit_lines(ctx.repo_root, change.base, change.head),
        files=change.files,
        lines=change.lines,
        gates=verdict(config.gates, results, sha=change.head).as_dict(),
        policy=change_policy(conn, config, task, change),
        findings=change_findings(config, task, change),
        conflicts=conflicts,
        review=review,
    )


def approve(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    task_id: str,
    *,
    human: bool,
    no_gates_reason: str | None = None,
    sha: str | None = None,
    reason: str | None = None,
) -> ReviewView:
    """Record `approved` bound to the branch head; refused when gates or policy say no.

    `reason` is recorded with the approval; a change outside the task's scopes needs one
    (policy `outside_scope = "reason"`). A branch with no commits is never approved.
    """
    task = check_task(ctx, conn, config, task_id)
    if task.state == TaskState.NEEDS_HUMAN and not human:
        raise ReviewRefusedError(
            task_id=task_id,
            detail=f"{task.reason or 'needs a human'}; a human approves with "
            f"`worker review {task_id} --approve --human`",
        )
    if task.state not in REVIEWABLE:
        raise ReviewRefusedError(
            task_id=task_id, detail=f"is {task.state.value}; only a task in review can be approved"
        )
    head = branch_sha(ctx.repo_root, task.branch)
    if head is None:
        raise ReviewRefusedError(task_id=task_id, detail=f"branch {task.branch} does not exist")
    _check_sha(ctx, task, head, sha)
    note = (reason or no_gates_reason or "").strip()
    _check_findings(ctx, conn, config, task, note)
    waived = _check_gates(conn, config, task, head, no_gates_reason)
    with transaction(conn):
        fresh = get_task(conn, task_id)
        if fresh.version != task.version:
            raise ConcurrentUpdateError(task_id=task_id)
        by = "human" if human else "reviewer"
        record_approval(conn, task_id, sha=head, by=by, gates_waived=waived)
        transition(
            conn,
            fresh,
            TaskState.APPROVED,
            action="approve",
            reason=f"approved {head[:12]} by {by}"
            + (f"; gates waived: {waived}" if waived else ""),
            data={"sha": head, "by": by, "gates_waived": waived, "note": note},
        )
    return show_review(ctx, conn, config, task_id)


def _check_findings(
    ctx: RepoContext, conn: Db, config: WorkerConfig, task: Task, note: str
) -> None:
    change = task_change(ctx, conn, config, task)
    if change is None:
        return
    for finding in change_findings(config, task, change):
        if finding.startswith("no commits") or not note:
            raise ReviewRefusedError(task_id=task.id, detail=finding)


def _check_sha(ctx: RepoContext, task: Task, head: str, sha: str | None) -> None:
    if sha is None:
        return
    named = rev(ctx.repo_root, sha)
    if named is None:
        raise ReviewRefusedError(
            task_id=task.id,
            detail=f"commit {sha} does not exist (rewritten or never fetched); review the "
            f"head of {task.branch} ({head[:12]}) instead",
        )
    if named != head:
        raise ReviewRefusedError(
            task_id=task.id,
            detail=f"commit {sha} is not the head of {task.branch} (now {head[:12]}); "
            "review the new head",
        )


def _check_gates(
    conn: Db,
    config: WorkerConfig,
    task: Task,
    head: str,
    no_gates_reason: str | None,
) -> str:
    if no_gates_reason is not None:
        if not no_gates_reason.strip():
            raise ReviewRefusedError(task_id=task.id, detail="--no-gates needs --reason TEXT")
        return no_gates_reason.strip()
    result = verdict(config.gates, latest_results(conn, task.id, head), sha=head)
    if not result.passed:
        raise ReviewRefusedError(
            task_id=task.id,
            detail=f"{result.problem}; run `worker gate {task.id}`, or approve with "
            "--no-gates --reason TEXT",
        )
    return ""


@dataclass(frozen=True)
class ChangeRequest(JsonResult):
    """What `worker review ID --request-changes` did."""

    task_id: str
    state: str
    change_requests: int
    restarted: bool
    attempt_id: int | None
    notes: list[str] = field(default_factory=list)
    attempt: int | None = None  # the task's own attempt number


def request_changes(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    task_id: str,
    *,
    reason: str,
    restart: bool,
    human: bool,
) -> ChangeRequest:
    """Record `changes_requested` with the feedback; by default restart the agent with it."""
    if not reason.strip():
        raise ReviewRefusedError(task_id=task_id, detail="say what to change: --reason TEXT")
    task = void_if_stale(ctx, conn, get_task(conn, task_id), remote=config.remote)
    if task.state not in {*REVIEWABLE, TaskState.APPROVED}:
        raise ReviewRefusedError(
            task_id=task_id,
            detail=f"is {task.state.value}; changes can be requested in review only",
        )
    limit = config.policy.max_change_requests
    with transaction(conn):
        fresh = get_task(conn, task_id)
        if fresh.version != task.version:
            raise ConcurrentUpdateError(task_id=task_id)
        count = record_change_request(conn, task_id, reason)
        if count > limit and not human:
            why = f"needs a human: {count} change requests (limit {limit})"
            if fresh.state != TaskState.NEEDS_HUMAN:
                transition(conn, fresh, TaskState.NEEDS_HUMAN, action="request changes", reason=why)
            return ChangeRequest(
                task_id,
                TaskState.NEEDS_HUMAN.value,
                count,
                False,
                None,
                [f"{why}; a human requests changes or approves with --human"],
            )
        transition(
            conn,
            fresh,
            TaskState.CHANGES_REQUESTED,
            action="request changes",
            reason=reason,
            data={"feedback": reason, "count": count},
        )
    if not restart:
        return ChangeRequest(task_id, TaskState.CHANGES_REQUESTED.value, count, False, None)
    return _restart(ctx, conn, config, task_id, count)


def _restart(
    ctx: RepoContext, conn: Db, config: WorkerConfig, task_id: str, count: int
) -> ChangeRequest:
    from ai_skills.worker.run.launch import start_task

    try:
        started = start_task(ctx, conn, config, task_id)
    except AiSkillsError as exc:
        state = get_task(conn, task_id).state.value
        return ChangeRequest(task_id, state, count, False, None, [f"restart failed: {exc}"])
    notes = [] if started.admitted else [f"restart waits: {started.reason}"]
    return ChangeRequest(
        task_id, started.state, count, started.admitted, started.attempt_id, notes,
        attempt=started.attempt,
    )
