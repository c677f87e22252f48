"""The SQLite store shared by every worktree of a repository: connect() and migrations."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Named, append-only: never edit or reorder a shipped entry, add a new one instead.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "0001_tasks_attempts_events",
        """
        CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            scopes TEXT NOT NULL DEFAULT '[]',
            base TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            runtime TEXT,
            runtime_command TEXT,
            state TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            reason TEXT NOT NULL DEFAULT '',
            branch TEXT NOT NULL,
            start_requested INTEGER NOT NULL DEFAULT 0,
            waiting_reason TEXT NOT NULL DEFAULT '',
            current_attempt INTEGER,
            worktree TEXT,
            worktree_removed INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX tasks_state ON tasks(state);
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id TEXT NOT NULL REFERENCES tasks(id),
            number INTEGER NOT NULL,
            worktree TEXT NOT NULL,
            branch TEXT NOT NULL,
            base_sha TEXT,
            command TEXT NOT NULL,
            prompt_file TEXT,
            log_file TEXT NOT NULL,
            supervisor_pid INTEGER,
            supervisor_token TEXT,
            agent_pid INTEGER,
            agent_token TEXT,
            lease_until REAL,
            heartbeat_at REAL,
            progress_at REAL,
            log_size INTEGER NOT NULL DEFAULT 0,
            head_sha TEXT,
            exit_code INTEGER,
            started_at REAL NOT NULL,
            ended_at REAL,
            UNIQUE(task_id, number)
        );
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            task_id TEXT,
            attempt_id INTEGER,
            kind TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_task ON events(task_id, seq);
        CREATE TABLE command_results (
            key TEXT PRIMARY KEY,
            command TEXT NOT NULL,
            result TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE TABLE steps (
            task_id TEXT NOT NULL REFERENCES tasks(id),
            attempt_id INTEGER NOT NULL DEFAULT 0,
            name TEXT NOT NULL,
            started_at REAL NOT NULL,
            done_at REAL,
            detail TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (task_id, attempt_id, name)
        );
        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            seq INTEGER NOT NULL
        );
        """,
    ),
    (
        "0002_gates_reviews_merges",
        """
        CREATE TABLE gate_results (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id TEXT NOT NULL REFERENCES tasks(id),
            sha TEXT NOT NULL,
            purpose TEXT NOT NULL,
            gate TEXT NOT NULL,
            command TEXT NOT NULL,
            exit_code INTEGER,
            timed_out INTEGER NOT NULL DEFAULT 0,
            duration REAL NOT NULL,
            log_file TEXT NOT NULL,
            started_at REAL NOT NULL
        );
        CREATE INDEX gate_results_task ON gate_results(task_id, sha);
        CREATE TABLE reviews (
            task_id TEXT PRIMARY KEY REFERENCES tasks(id),
            approved_sha TEXT,
            approved_by TEXT,
            approved_at REAL,
            gates_waived TEXT NOT NULL DEFAULT '',
            feedback TEXT NOT NULL DEFAULT '',
            change_requests INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE merges (
            task_id TEXT PRIMARY KEY REFERENCES tasks(id),
            strategy TEXT NOT NULL,
            integration TEXT NOT NULL,
            source_sha TEXT NOT NULL,
            target_sha TEXT,
            merged_sha TEXT,
            step TEXT NOT NULL,
            started_at REAL NOT NULL,
            done_at REAL,
            detail TEXT NOT NULL DEFAULT ''
        );
        """,
    ),
    (
        "0003_profiles_containment",
        """
        CREATE TABLE task_profiles (
            task_id TEXT PRIMARY KEY REFERENCES tasks(id),
            profile TEXT,
            fallback TEXT NOT NULL DEFAULT '[]',
            position INTEGER NOT NULL DEFAULT 0,
            rate_limits INTEGER NOT NULL DEFAULT 0,
            not_before REAL
        );
        CREATE TABLE attempt_runtime (
            attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
            profile TEXT,
            env TEXT NOT NULL DEFAULT '{}',
            policy TEXT NOT NULL DEFAULT '{}',
            outcome TEXT,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE attempt_snapshots (
            attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
            taken_at REAL NOT NULL,
            data TEXT NOT NULL
        );
        """,
    ),
)


def connect(db_path: Path, *, busy_timeout_ms: int = 30_000) -> sqlite3.Connection:
    """Open (and migrate) the store: WAL, busy_timeout, foreign keys, explicit transactions."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so writers queue on the
    # busy timeout instead of failing on a read-to-write lock upgrade.
    conn = sqlite3.connect(str(db_path), timeout=busy_timeout_ms / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded; return their names."""
    have = _applied(conn)
    if have is not None and all(name in have for name, _ in MIGRATIONS):
        return []
    applied: list[str] = []
    with transaction(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)"
        )
        have = _applied(conn) or set()
        for name, sql in MIGRATIONS:
            if name in have:
                continue
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
            applied.append(name)
    return applied


def _applied(conn: sqlite3.Connection) -> set[str] | None:
    try:
        return {row[0] for row in conn.execute("SELECT name FROM migrations")}
    except sqlite3.OperationalError:
        return None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction taken up front (BEGIN IMMEDIATE); rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def append_event(
    conn: sqlite3.Connection,
    *,
    kind: str,
    task_id: str | None,
    attempt_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    data: dict[str, Any] | None = None,
    now: float | None = None,
) -> int:
    """Append one event (call inside a transaction); return its sequence number."""
    cur = conn.execute(
        "INSERT INTO events (at, task_id, attempt_id, kind, from_state, to_state, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            time.time() if now is None else now,
            task_id,
            attempt_id,
            kind,
            from_state,
            to_state,
            json.dumps(data or {}, sort_keys=True),
        ),
    )
    return int(cur.lastrowid or 0)


def recall_result(conn: sqlite3.Connection, key: str | None) -> dict[str, Any] | None:
    """The stored result of an earlier command with this idempotency key, if any."""
    if not key:
        return None
    row = conn.execute("SELECT result FROM command_results WHERE key = ?", (key,)).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def remember_result(
    conn: sqlite3.Connection, key: str | None, command: str, result: dict[str, Any]
) -> None:
    """Record a command's result under its idempotency key (inside the same transaction)."""
    if key:
        conn.execute(
            "INSERT OR IGNORE INTO command_results VALUES (?, ?, ?, ?)",
            (key, command, json.dumps(result, sort_keys=True, default=str), time.time()),
        )
