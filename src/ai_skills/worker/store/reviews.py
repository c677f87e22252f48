"""Review decisions (`reviews`) and the gate runs they rest on (`gate_results`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_skills.worker.store.backend import Db, Row

_GATE_COLUMNS = (
    "task_id",
    "sha",
    "purpose",
    "gate",
    "command",
    "exit_code",
    "timed_out",
    "duration",
    "log_file",
    "started_at",
)


def review_row(db: Db, task_id: str) -> Row | None:
    """The task's review record, if anybody reviewed it yet."""
    return db.row("SELECT * FROM reviews WHERE task_id = ?", (task_id,))


def _ensure(db: Db, task_id: str) -> None:
    db.run(
        "INSERT INTO reviews (task_id) VALUES (?) ON CONFLICT (task_id) DO NOTHING", (task_id,)
    )


def approve(db: Db, task_id: str, *, sha: str, by: str, at: float, gates_waived: str) -> None:
    """Bind an approval to `sha`; earlier feedback is settled."""
    _ensure(db, task_id)
    db.run(
        "UPDATE reviews SET approved_sha = ?, approved_by = ?, approved_at = ?,"
        " gates_waived = ?, feedback = '' WHERE task_id = ?",
        (sha, by, at, gates_waived, task_id),
    )


def clear_approval(db: Db, task_id: str) -> None:
    """Forget the approval."""
    _ensure(db, task_id)
    db.run(
        "UPDATE reviews SET approved_sha = NULL, approved_by = NULL, approved_at = NULL,"
        " gates_waived = '' WHERE task_id = ?",
        (task_id,),
    )


def request_changes(db: Db, task_id: str, feedback: str, *, count: bool) -> None:
    """Store feedback for the next attempt, forget the approval, count the request."""
    _ensure(db, task_id)
    db.run(
        "UPDATE reviews SET feedback = ?, change_requests = change_requests + ?,"
        " approved_sha = NULL, approved_by = NULL, approved_at = NULL WHERE task_id = ?",
        (feedback, int(count), task_id),
    )


def insert_gate_result(db: Db, **columns: Any) -> None:
    """Record one gate run (`columns`: task_id ... started_at, as stored)."""
    if set(columns) != set(_GATE_COLUMNS):
        raise ValueError(f"a gate result needs exactly the columns {_GATE_COLUMNS}")
    db.insert(
        f"INSERT INTO gate_results ({', '.join(_GATE_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in _GATE_COLUMNS)})",
        tuple(columns[name] for name in _GATE_COLUMNS),
    )


def gate_result_rows(db: Db, task_id: str, sha: str, purpose: str) -> list[Row]:
    """Every gate run on `sha` for `purpose`, oldest first."""
    return db.rows(
        "SELECT * FROM gate_results WHERE task_id = ? AND sha = ? AND purpose = ? ORDER BY id",
        (task_id, sha, purpose),
    )
