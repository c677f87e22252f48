"""`worker stats`: flow metrics per task and in aggregate, computed from the event log only."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from ai_skills.util.results import JsonResult
from ai_skills.worker.ops.watch import Event, read_events
from ai_skills.worker.store import Db

# Which states count towards which metric (seconds spent in them).
PHASES: dict[str, frozenset[str]] = {
    "queue_wait": frozenset({"queued"}),
    "run_time": frozenset({"running", "needs_input"}),
    "review_time": frozenset({"in_review", "needs_human"}),
    "merge_wait": frozenset({"approved", "merging"}),
}
_TERMINAL = frozenset({"merged", "cancelled", "failed"})


@dataclass(frozen=True)
class TaskStats(JsonResult):
    """One task's metrics."""

    task_id: str
    state: str
    queue_wait: float
    run_time: float
    review_time: float
    merge_wait: float
    change_requests: int
    gate_runs: int
    gate_failures: int


@dataclass(frozen=True)
class Stats:
    """Per-task metrics and their aggregate."""

    tasks: list[TaskStats]
    aggregate: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return {"tasks": [t.as_dict() for t in self.tasks], "aggregate": self.aggregate}


def compute_stats(conn: Db, *, now: float | None = None) -> Stats:
    """Walk the event log once; a task still in a phase counts up to `now`."""
    now = time.time() if now is None else now
    by_task: dict[str, list[Event]] = {}
    for event in _all_events(conn):
        if event.task_id is not None:
            by_task.setdefault(event.task_id, []).append(event)
    tasks = [_task_stats(task_id, events, now=now) for task_id, events in by_task.items()]
    return Stats(tasks, _aggregate(tasks))


def _all_events(conn: Db) -> list[Event]:
    events: list[Event] = []
    while True:
        batch = read_events(conn, since=events[-1].seq if events else 0, limit=10_000)
        if not batch:
            return events
        events += batch


def _task_stats(task_id: str, events: list[Event], *, now: float) -> TaskStats:
    totals = dict.fromkeys(PHASES, 0.0)
    state, since = "", 0.0
    cycles = runs = failures = 0
    for event in events:
        if event.kind == "gate":
            runs += 1
            failures += 0 if event.data.get("passed") else 1
        if event.kind not in ("added", "transition") or not event.to_state:
            continue
        _add(totals, state, event.at - since)
        state, since = event.to_state, event.at
        cycles += state == "changes_requested"
    if state not in _TERMINAL:
        _add(totals, state, now - since)
    return TaskStats(
        task_id,
        state,
        queue_wait=round(totals["queue_wait"], 3),
        run_time=round(totals["run_time"], 3),
        review_time=round(totals["review_time"], 3),
        merge_wait=round(totals["merge_wait"], 3),
        change_requests=cycles,
        gate_runs=runs,
        gate_failures=failures,
    )


def _add(totals: dict[str, float], state: str, seconds: float) -> None:
    for phase, states in PHASES.items():
        if state in states:
            totals[phase] += max(seconds, 0.0)


def _aggregate(tasks: list[TaskStats]) -> dict[str, object]:
    out: dict[str, object] = {"tasks": len(tasks)}
    for phase in PHASES:
        values = [getattr(t, phase) for t in tasks if getattr(t, phase) > 0]
        out[phase] = {
            "total": round(sum(values), 3),
            "mean": round(statistics.fmean(values), 3) if values else 0.0,
            "median": round(statistics.median(values), 3) if values else 0.0,
            "max": round(max(values), 3) if values else 0.0,
        }
    runs = sum(t.gate_runs for t in tasks)
    failures = sum(t.gate_failures for t in tasks)
    out["change_requests"] = sum(t.change_requests for t in tasks)
    out["gate_runs"] = runs
    out["gate_failures"] = failures
    out["gate_failure_rate"] = round(failures / runs, 3) if runs else 0.0
    return out
