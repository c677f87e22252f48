"""Tasks (`tasks`) and the checkpoints of their side-effect steps (`steps`)."""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` costs `worker status` milliseconds (benchmarks/worker_bench.py)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ai_skills.worker.store.backend import Db, Row

_TASK_COLUMNS = (
    "id",
    "title",
    "description",
    "scopes",
    "base",
    "priority",
    "runtime",
    "runtime_command",
    "state",
    "branch",
    "created_at",
    "updated_at",
    "needs",
)


def insert_task(db: Db, **columns: Any) -> None:
    """Add a task row; `columns` are those of a new task (id ... updated_at), as stored."""
    if set(columns) != set(_TASK_COLUMNS):
        raise ValueError(f"a new task needs exactly the columns {_TASK_COLUMNS}")
    db.run(
        f"INSERT INTO tasks ({', '.join(_TASK_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in _TASK_COLUMNS)})",
        tuple(columns[name] for name in _TASK_COLUMNS),
    )


def task_row(db: Db, task_id: str) -> Row | None:
    """The task's row, if there is one."""
    return db.row("SELECT * FROM tasks WHERE id = ?", (task_id,))


def task_rows(
    db: Db,
    *,
    states: Sequence[str] | None = None,
    final_states: Sequence[str] = (),
    recent_final: int | None = None,
    live_states: Sequence[str] | None = None,
) -> list[Row]:
    """Tasks in creation order; only those in `states` when given; with `recent_final`, of
    the tasks in `final_states` only that many, the last changed.

    `live_states`, every state but the final ones, lets the query read the live tasks
    through the state index instead of every task (`NOT IN`): 5 ms at 10,000 tasks.
    """
    where: list[str] = []
    params: list[object] = []
    if states is not None:
        where.append(f"state IN ({', '.join('?' * len(states))})" if states else "1 = 0")
        params += states
    if recent_final is None or not final_states:
        return _ordered_rows(db, where, params)
    # A long-lived repository holds thousands of merged tasks; `status` shows the live ones
    # and the last finished. Three short queries: the one with `OR id IN (SELECT ...)` took
    # 10 to 17 ms on 10,000 tasks, these 4 (benchmarks/worker_bench.py).
    marks = ", ".join("?" * len(final_states))
    recent = [row["id"] for row in db.rows(
        f"SELECT id FROM tasks WHERE state IN ({marks}) ORDER BY updated_at DESC, id LIMIT ?",
        (*final_states, recent_final),
    )]
    if live_states is None:
        live = _ordered_rows(db, [*where, f"state NOT IN ({marks})"], [*params, *final_states])
    else:
        live_marks = ", ".join("?" * len(live_states))
        live = _ordered_rows(db, [*where, f"state IN ({live_marks})"], [*params, *live_states])
    finished = _ordered_rows(db, [*where, f"id IN ({', '.join('?' * len(recent))})"],
                             [*params, *recent]) if recent else []
    return sorted([*live, *finished], key=lambda row: (row["created_at"], row["id"]))


def _ordered_rows(db: Db, where: list[str], params: list[object]) -> list[Row]:
    sql = "SELECT * FROM tasks" + (f" WHERE {' AND '.join(where)}" if where else "")
    return db.rows(sql + " ORDER BY created_at, id", tuple(params))


def count_tasks(db: Db) -> int:
    """How many tasks the store holds."""
    return int(db.value("SELECT COUNT(*) FROM tasks"))


def compare_and_set_state(
    db: Db, task_id: str, *, version: int, state: str, reason: str, now: float
) -> bool:
    """Set the state when the task is still at `version` (and bump it); False when not."""
    changed = db.run(
        "UPDATE tasks SET state = ?, version = version + 1, reason = ?, updated_at = ?,"
        " waiting_reason = '' WHERE id = ? AND version = ?",
        (state, reason, now, task_id, version),
    )
    return changed == 1


def request_start(db: Db, task_id: str, waiting_reason: str) -> None:
    """Remember that the task should start once it can, and why it waits until then."""
    db.run(
        "UPDATE tasks SET start_requested = 1, waiting_reason = ? WHERE id = ?",
        (waiting_reason, task_id),
    )


def set_current_attempt(
    db: Db, task_id: str, attempt_id: int, worktree: str, *, host: str | None = None
) -> None:
    """Point the task at its newly admitted attempt and workspace, claimed by `host` (None:
    no host daemon, one machine); the start request is met."""
    db.run(
        "UPDATE tasks SET current_attempt = ?, worktree = ?, worktree_removed = 0,"
        " start_requested = 0, waiting_reason = '', host = ? WHERE id = ?",
        (attempt_id, worktree, host, task_id),
    )


def mark_worktree_removed(db: Db, task_id: str) -> None:
    """Record that the task's workspace is gone from disk."""
    db.run("UPDATE tasks SET worktree_removed = 1 WHERE id = ?", (task_id,))


def task_worktrees(db: Db, *, present_only: bool = False) -> list[tuple[str, str]]:
    """(task id, workspace path) of every task that has had one (`present_only`: not removed)."""
    sql = "SELECT id, worktree FROM tasks WHERE worktree IS NOT NULL"
    if present_only:
        sql += " AND worktree_removed = 0"
    return [(r["id"], r["worktree"]) for r in db.rows(sql)]


def mark_step(
    db: Db,
    task_id: str,
    attempt_id: int,
    name: str,
    *,
    now: float,
    done: bool,
    detail: str,
) -> None:
    """Checkpoint a step as started or done at `now` (inside the caller's transaction)."""
    db.run(
        "INSERT INTO steps (task_id, attempt_id, name, started_at, done_at, detail)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, attempt_id, name) DO UPDATE SET"
        " done_at = excluded.done_at, detail = excluded.detail",
        (task_id, attempt_id, name, now, now if done else None, detail),
    )


def step_done(db: Db, task_id: str, attempt_id: int, name: str) -> bool:
    """True when a checkpointed step has completed."""
    done_at = db.value(
        "SELECT done_at FROM steps WHERE task_id = ? AND attempt_id = ? AND name = ?",
        (task_id, attempt_id, name),
    )
    return done_at is not None


def unfinished_steps(db: Db) -> list[Row]:
    """Steps that were started and never completed, oldest first."""
    return db.rows("SELECT * FROM steps WHERE done_at IS NULL ORDER BY started_at")
