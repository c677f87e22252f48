"""One pass of the background work: liveness, then admission of waiting tasks.

In a host's clone (`worker daemon start --host`) the pass is that host's: it judges by pid
only its own attempts (other hosts' by their lease), and starts only the tasks its labels
cover, up to its own WIP limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ai_skills.errors import AiSkillsError
from ai_skills.util.results import JsonResult
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.hosts import Host, this_host
from ai_skills.worker.ops.liveness import Verdict, liveness_pass
from ai_skills.worker.review.findings import review_pass
from ai_skills.worker.run.admission import (
    needs_unmet,
    occupancy,
    record_wait,
    waiting_reason,
    waiting_tasks,
)
from ai_skills.worker.run.launch import StartResult, start_task
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.tasks import get_task


@dataclass(frozen=True)
class TickReport(JsonResult):
    """What one pass changed."""

    stalled: list[Verdict] = field(default_factory=list)
    started: list[StartResult] = field(default_factory=list)
    waiting: list[StartResult] = field(default_factory=list)
    # Tasks whose review state changed: an approval voided, a policy rule applied.
    reviewed: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def tick(
    ctx: RepoContext, conn: Db, config: WorkerConfig, *, now: float | None = None
) -> TickReport:
    """Mark dead or idle runs stalled, check reviews, then start waiting tasks while slots free."""
    now = time.time() if now is None else now
    host = this_host(ctx.worker_dir)
    report = TickReport(
        stalled=liveness_pass(
            conn,
            stall_after=config.stall_after_seconds,
            grace=config.cancel_grace_seconds,
            now=now,
            host=host,
        )
    )
    try:
        for task in review_pass(ctx, conn, config):
            report.reviewed.append(
                {"task_id": task.id, "state": task.state.value, "reason": task.reason}
            )
    except AiSkillsError as exc:
        report.errors.append({"task_id": "-", "error": f"review checks: {exc}"})
    admit_waiting(ctx, conn, config, report, now=now, host=host)
    return report


def admit_waiting(
    ctx: RepoContext,
    conn: Db,
    config: WorkerConfig,
    report: TickReport,
    *,
    now: float,
    host: Host | None = None,
) -> None:
    """Start waiting tasks in queue order while WIP slots are free.

    Waiting tasks are the deferred starts and, with `autostart`, every `queued` task. One
    that waits for a scope, a rate-limit retry time or fails to start does not hold up the
    ones behind it. Once every slot is taken, only deferred starts are told why they wait,
    so a thousand queued tasks cost one look each.

    A host passes over tasks its labels do not cover (another host's), and records no
    waiting reason: its reasons are its own (its WIP, its labels), and hosts taking turns to
    write theirs would fill the event log.
    """
    max_running = config.max_running if host is None else host.max_running
    occupied = occupancy(conn, host)
    for task in waiting_tasks(conn, autostart=config.autostart):
        if host is not None and needs_unmet(task, host):
            continue
        if len(occupied.tasks) >= max_running and not task.start_requested:
            continue
        reason = waiting_reason(
            conn,
            task,
            max_running=max_running,
            walking_queue=True,
            occupied=occupied,
            host=host,
        )
        if reason:
            if task.start_requested:
                if host is None:
                    with transaction(conn):
                        record_wait(conn, get_task(conn, task.id), reason, now=now)
                report.waiting.append(StartResult(task.id, task.state.value, False, reason))
            continue
        try:
            result = start_task(ctx, conn, config, task.id, walking_queue=True)
        except AiSkillsError as exc:
            report.errors.append({"task_id": task.id, "error": str(exc)})
            continue
        (report.started if result.admitted else report.waiting).append(result)
        if result.admitted:
            occupied = occupancy(conn, host)
