"""Where a task is on its profile chain (`task_profiles`) and what each attempt ran with
(`attempt_runtime`)."""

from __future__ import annotations

from ai_skills.worker.store.id_lists import id_chunks

TYPE_CHECKING = False  # `typing` costs `worker status` milliseconds (benchmarks/worker_bench.py)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ai_skills.worker.store.backend import Db, Row


def set_task_profiles(db: Db, task_id: str, *, profile: str | None, fallback: str) -> None:
    """Remember a task's own profile and fallback list (JSON text)."""
    db.run(
        "INSERT INTO task_profiles (task_id, profile, fallback) VALUES (?, ?, ?)"
        " ON CONFLICT (task_id) DO UPDATE SET profile = excluded.profile,"
        " fallback = excluded.fallback",
        (task_id, profile, fallback),
    )


def task_profile_row(db: Db, task_id: str) -> Row | None:
    """The task's own profile chain and where it is on it, if any."""
    return db.row("SELECT * FROM task_profiles WHERE task_id = ?", (task_id,))


def set_chain_position(
    db: Db, task_id: str, *, position: int, rate_limits: int, not_before: float | None
) -> None:
    """Move the task along its chain after a rate limit, with the time it may retry."""
    db.run(
        "INSERT INTO task_profiles (task_id, position, rate_limits, not_before) VALUES"
        " (?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET position = excluded.position,"
        " rate_limits = excluded.rate_limits, not_before = excluded.not_before",
        (task_id, position, rate_limits, not_before),
    )


def clear_rate_limits(db: Db, task_id: str) -> None:
    """Forget the task's rate-limit count and retry time."""
    db.run(
        "UPDATE task_profiles SET rate_limits = 0, not_before = NULL WHERE task_id = ?", (task_id,)
    )


def record_attempt_runtime(
    db: Db, attempt_id: int, *, profile: str | None, env: str, policy: str
) -> None:
    """Store what an attempt runs with (JSON text); an earlier record is replaced whole."""
    db.run(
        "INSERT INTO attempt_runtime (attempt_id, profile, env, policy) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (attempt_id) DO UPDATE SET profile = excluded.profile,"
        " env = excluded.env, policy = excluded.policy, outcome = NULL, detail = ''",
        (attempt_id, profile, env, policy),
    )


def record_outcome(db: Db, attempt_id: int, outcome: str, detail: str) -> None:
    """Remember how an attempt ended."""
    db.run(
        "INSERT INTO attempt_runtime (attempt_id, outcome, detail) VALUES (?, ?, ?)"
        " ON CONFLICT (attempt_id) DO UPDATE SET outcome = excluded.outcome,"
        " detail = excluded.detail",
        (attempt_id, outcome, detail),
    )


def attempt_runtime_row(db: Db, attempt_id: int) -> Row | None:
    """What the attempt was admitted with, if it was recorded."""
    return db.row("SELECT * FROM attempt_runtime WHERE attempt_id = ?", (attempt_id,))


def attempt_profile_rows(db: Db, task_ids: Sequence[str]) -> list[Row]:
    """Every attempt of these tasks with its profile and outcome, by task, oldest first."""
    sql = (
        "SELECT a.task_id, a.id, a.number, a.exit_code, a.started_at, a.ended_at,"
        " r.profile, r.outcome, r.detail"
        " FROM attempts a LEFT JOIN attempt_runtime r ON r.attempt_id = a.id"
    )
    return [
        row
        for marks, chunk in id_chunks(task_ids)
        for row in db.rows(sql + f" WHERE a.task_id IN ({marks}) ORDER BY a.task_id, a.number",
                           chunk)
    ]
