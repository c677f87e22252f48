"""`worker hosts`: the host daemons sharing the store, their labels, WIP and lease."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ai_skills.util.results import JsonResult
from ai_skills.worker.states import ACTIVE
from ai_skills.worker.store import Db
from ai_skills.worker.store import hosts as host_rows


@dataclass(frozen=True)
class HostStatus(JsonResult):
    """One host as the store knows it."""

    name: str
    labels: list[str]
    max_running: int
    running: int  # its tasks in running or needs_input
    lease: str  # "live", or "expired" once its daemon stopped renewing it
    lease_until: float | None
    lease_left: float | None  # seconds; negative once expired
    heartbeat_at: float | None
    started_at: float
    this_clone: bool = False


def host_statuses(
    conn: Db, *, here: str | None = None, now: float | None = None
) -> list[HostStatus]:
    """Every host that ever registered, by name; `here` marks this clone's."""
    now = time.time() if now is None else now
    counts = host_rows.active_counts(conn, sorted(state.value for state in ACTIVE))
    found = []
    for row in host_rows.host_rows(conn):
        until = row["lease_until"]
        live = until is not None and now <= until
        found.append(
            HostStatus(
                name=row["name"],
                labels=list(json.loads(row["labels"])),
                max_running=int(row["max_running"]),
                running=counts.get(row["name"], 0),
                lease="live" if live else "expired",
                lease_until=until,
                lease_left=None if until is None else round(until - now, 1),
                heartbeat_at=row["heartbeat_at"],
                started_at=row["started_at"],
                this_clone=row["name"] == here,
            )
        )
    return found


def host_lines(hosts: list[HostStatus]) -> list[str]:
    """One line per host for people."""
    if not hosts:
        return ["no hosts; `worker daemon start --host NAME` in a clone makes it one"]
    lines = []
    for h in hosts:
        lease = (
            f"lease {h.lease_left:.0f}s left"
            if h.lease == "live" and h.lease_left is not None
            else f"lease expired {-(h.lease_left or 0):.0f}s ago"
        )
        mark = " (this clone)" if h.this_clone else ""
        labels = ",".join(h.labels) or "-"
        lines.append(
            f"{h.name:<16} {h.running}/{h.max_running} running  labels {labels}  {lease}{mark}"
        )
    return lines
