"""Stores made by earlier versions of the worker open with this one and keep working."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from ai_skills.worker.store import MIGRATIONS, connect
from ai_skills.worker.store.tasks import mark_worktree_removed
from ai_skills.worker.tasks import NewTask, add_task, get_task, list_tasks

pytestmark = pytest.mark.sqlite_only(reason="stores made by earlier versions were SQLite files")

# The migrations exactly as the worker shipped them before the store became a package
# (one string per migration, split on ';' when applied). Never edit: they are what
# existing stores were built from.
OLD_MIGRATIONS: tuple[tuple[str, str], ...] = (
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


def build_old_store(path: Path, upto: int = len(OLD_MIGRATIONS)) -> None:
    """A store as the old code left it: its first `upto` migrations applied and recorded."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    for name, sql in OLD_MIGRATIONS[:upto]:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
    conn.execute(
        "INSERT INTO tasks (id, title, base, state, branch, created_at, updated_at)"
        " VALUES ('old', 'made by the old code', 'main', 'queued', 'worker/old', 1, 1)"
    )
    conn.close()


def test_the_migration_names_are_the_ones_old_stores_recorded() -> None:
    # Shipped names never change; later migrations (0004_hosts, ...) come after them.
    names = [m.name for m in MIGRATIONS]
    assert names[: len(OLD_MIGRATIONS)] == [name for name, _ in OLD_MIGRATIONS]


def test_a_store_made_by_the_old_code_opens_and_works(tmp_path: Path) -> None:
    db_path = tmp_path / "worker.db"
    build_old_store(db_path)
    db = connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
    assert get_task(db, "old").title == "made by the old code"
    add_task(db, NewTask(task_id="new", title="made by the new code", base="main"))
    mark_worktree_removed(db, "new")
    assert [t.id for t in list_tasks(db)] == ["old", "new"]
    assert get_task(db, "new").worktree_removed


def test_an_old_store_missing_a_migration_gets_it_under_its_old_name(tmp_path: Path) -> None:
    db_path = tmp_path / "worker.db"
    build_old_store(db_path, upto=2)
    db = connect(db_path)
    names = [r["name"] for r in db.rows("SELECT name FROM migrations ORDER BY name")]
    assert names == [m.name for m in MIGRATIONS]
    add_task(db, NewTask(task_id="p", title="with a profile", base="main", profile="fast"))
    assert db.row("SELECT profile FROM task_profiles WHERE task_id = 'p'")["profile"] == "fast"


def test_the_new_schema_matches_the_old_one_column_for_column(tmp_path: Path) -> None:
    # The old store, brought up to date by the migrations after its own, has the new shape.
    old_path, new_path = tmp_path / "old.db", tmp_path / "new.db"
    build_old_store(old_path)
    connect(old_path).close()
    new = connect(new_path)
    old = sqlite3.connect(str(old_path))
    tables = [r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        old_columns = old.execute(f"PRAGMA table_info({table})").fetchall()
        new_columns = [tuple(r) for r in new.execute(f"PRAGMA table_info({table})")]
        assert new_columns == old_columns, table
    shape = "SELECT type, name, tbl_name FROM sqlite_master ORDER BY name"
    assert [tuple(r) for r in new.execute(shape)] == old.execute(shape).fetchall()
