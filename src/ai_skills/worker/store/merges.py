"""Merges in progress and done (`merges`): the step each one reached, for resuming."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_skills.worker.store.backend import Db, Row


def begin_merge(
    db: Db, task_id: str, *, strategy: str, integration: str, source_sha: str, started_at: float
) -> None:
    """Start the task's merge record at step `begin` (a finished earlier one is replaced)."""
    db.run(
        "INSERT INTO merges (task_id, strategy, integration, source_sha, step, started_at)"
        " VALUES (?, ?, ?, ?, 'begin', ?) ON CONFLICT (task_id) DO UPDATE SET"
        " strategy = excluded.strategy, integration = excluded.integration,"
        " source_sha = excluded.source_sha, step = excluded.step,"
        " started_at = excluded.started_at, target_sha = NULL, merged_sha = NULL,"
        " done_at = NULL, detail = ''",
        (task_id, strategy, integration, source_sha, started_at),
    )


def save_merge_step(
    db: Db,
    task_id: str,
    step: str,
    *,
    target_sha: str | None,
    merged_sha: str | None,
    done_at: float | None,
    detail: str,
) -> None:
    """Record the step the merge reached and the commits it made so far."""
    db.run(
        "UPDATE merges SET step = ?, target_sha = ?, merged_sha = ?, done_at = ?, detail = ?"
        " WHERE task_id = ?",
        (step, target_sha, merged_sha, done_at, detail, task_id),
    )


def finish_merge(db: Db, task_id: str, *, done_at: float, outcome: str) -> None:
    """Close the merge record with its outcome."""
    db.run(
        "UPDATE merges SET done_at = ?, detail = ? WHERE task_id = ?", (done_at, outcome, task_id)
    )


def open_merge_row(db: Db, task_id: str) -> Row | None:
    """The task's merge that was started and not finished, if any."""
    return db.row("SELECT * FROM merges WHERE task_id = ? AND done_at IS NULL", (task_id,))


def unfinished_merges(db: Db) -> list[Row]:
    """Merge records that were started and never finished, oldest first."""
    return db.rows("SELECT * FROM merges WHERE done_at IS NULL ORDER BY started_at")
