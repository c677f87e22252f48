"""Host daemons (`hosts`) and which host claimed a task or ran an attempt (`host` columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_skills.worker.store.backend import Db, Row


def register_host(
    db: Db, name: str, *, labels: str, max_running: int, lease_until: float, now: float
) -> None:
    """Add or replace a host's row as its daemon starts (labels as JSON text)."""
    db.run(
        "INSERT INTO hosts (name, labels, max_running, lease_until, heartbeat_at, started_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET labels = excluded.labels,"
        " max_running = excluded.max_running, lease_until = excluded.lease_until,"
        " heartbeat_at = excluded.heartbeat_at, started_at = excluded.started_at",
        (name, labels, max_running, lease_until, now, now),
    )


def renew_host(db: Db, name: str, *, lease_until: float, now: float) -> bool:
    """Extend a host's lease; False when it has no row (not registered)."""
    changed = db.run(
        "UPDATE hosts SET lease_until = ?, heartbeat_at = ? WHERE name = ?",
        (lease_until, now, name),
    )
    return changed == 1


def end_host_lease(db: Db, name: str, *, now: float) -> None:
    """A daemon that stops says so: its lease ends now, not when it would have run out."""
    db.run("UPDATE hosts SET lease_until = ? WHERE name = ?", (now, name))


def host_row(db: Db, name: str) -> Row | None:
    """The host's row, if it ever registered."""
    return db.row("SELECT * FROM hosts WHERE name = ?", (name,))


def host_rows(db: Db) -> list[Row]:
    """Every host that ever registered, by name."""
    return db.rows("SELECT * FROM hosts ORDER BY name")


def active_counts(db: Db, states: list[str]) -> dict[str | None, int]:
    """How many tasks in `states` each host holds (None: claimed by no host)."""
    marks = ", ".join("?" for _ in states)
    rows = db.rows(
        f"SELECT host, COUNT(*) AS n FROM tasks WHERE state IN ({marks}) GROUP BY host",
        tuple(states),
    )
    return {r["host"]: int(r["n"]) for r in rows}
