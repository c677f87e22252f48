"""One pass of the background work: liveness, then admission of waiting tasks."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass, field

from ai_skills.errors import AiSkillsError
from ai_skills.worker.admission import queued_requests
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.launch import StartResult, start_task
from ai_skills.worker.liveness import Verdict, liveness_pass
from ai_skills.worker.review import review_pass


@dataclass(frozen=True)
class TickReport:
    """What one pass changed."""

    stalled: list[Verdict] = field(default_factory=list)
    started: list[StartResult] = field(default_factory=list)
    waiting: list[StartResult] = field(default_factory=list)
    # Tasks whose review state changed: an approval voided, a policy rule applied.
    reviewed: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return asdict(self)


def tick(
    ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig, *, now: float | None = None
) -> TickReport:
    """Mark dead or idle runs stalled, check reviews, then start waiting tasks while slots free."""
    now = time.time() if now is None else now
    report = TickReport(
        stalled=liveness_pass(conn, stall_after=config.stall_after_seconds, now=now)
    )
    try:
        for task in review_pass(ctx, conn, config):
            report.reviewed.append(
                {"task_id": task.id, "state": task.state.value, "reason": task.reason}
            )
    except AiSkillsError as exc:
        report.errors.append({"task_id": "-", "error": f"review checks: {exc}"})
    for task in queued_requests(conn):
        try:
            result = start_task(ctx, conn, config, task.id)
        except AiSkillsError as exc:
            report.errors.append({"task_id": task.id, "error": str(exc)})
            continue
        (report.started if result.admitted else report.waiting).append(result)
    return report
