"""The SQLite schema: named, append-only migrations, each a list of statements."""

from __future__ import annotations

from ai_skills.worker.store.migrations import Migration

# Never edit or reorder a shipped entry, add a new one instead: the names are recorded in
# every store (`migrations` table) and a backend of its own dialect reuses them.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_tasks_attempts_events",
        (
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
            )
            """,
            "CREATE INDEX tasks_state ON tasks(state)",
            """
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
            )
            """,
            """
            CREATE TABLE events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at REAL NOT NULL,
                task_id TEXT,
                attempt_id INTEGER,
                kind TEXT NOT NULL,
                from_state TEXT,
                to_state TEXT,
                data TEXT NOT NULL DEFAULT '{}'
            )
            """,
            "CREATE INDEX events_task ON events(task_id, seq)",
            """
            CREATE TABLE command_results (
                key TEXT PRIMARY KEY,
                command TEXT NOT NULL,
                result TEXT NOT NULL,
                at REAL NOT NULL
            )
            """,
            """
            CREATE TABLE steps (
                task_id TEXT NOT NULL REFERENCES tasks(id),
                attempt_id INTEGER NOT NULL DEFAULT 0,
                name TEXT NOT NULL,
                started_at REAL NOT NULL,
                done_at REAL,
                detail TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (task_id, attempt_id, name)
            )
            """,
            """
            CREATE TABLE cursors (
                name TEXT PRIMARY KEY,
                seq INTEGER NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "0002_gates_reviews_merges",
        (
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
            )
            """,
            "CREATE INDEX gate_results_task ON gate_results(task_id, sha)",
            """
            CREATE TABLE reviews (
                task_id TEXT PRIMARY KEY REFERENCES tasks(id),
                approved_sha TEXT,
                approved_by TEXT,
                approved_at REAL,
                gates_waived TEXT NOT NULL DEFAULT '',
                feedback TEXT NOT NULL DEFAULT '',
                change_requests INTEGER NOT NULL DEFAULT 0
            )
            """,
            """
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
            )
            """,
        ),
    ),
    Migration(
        "0003_profiles_containment",
        (
            """
            CREATE TABLE task_profiles (
                task_id TEXT PRIMARY KEY REFERENCES tasks(id),
                profile TEXT,
                fallback TEXT NOT NULL DEFAULT '[]',
                position INTEGER NOT NULL DEFAULT 0,
                rate_limits INTEGER NOT NULL DEFAULT 0,
                not_before REAL
            )
            """,
            """
            CREATE TABLE attempt_runtime (
                attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
                profile TEXT,
                env TEXT NOT NULL DEFAULT '{}',
                policy TEXT NOT NULL DEFAULT '{}',
                outcome TEXT,
                detail TEXT NOT NULL DEFAULT ''
            )
            """,
            """
            CREATE TABLE attempt_snapshots (
                attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
                taken_at REAL NOT NULL,
                data TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "0004_hosts",
        (
            # One row per host daemon (docs/worker.md, Several hosts): its labels, its own
            # WIP limit, and the lease it renews; another daemon judges its attempts by it.
            """
            CREATE TABLE hosts (
                name TEXT PRIMARY KEY,
                labels TEXT NOT NULL DEFAULT '[]',
                max_running INTEGER NOT NULL,
                lease_until REAL,
                heartbeat_at REAL,
                started_at REAL NOT NULL
            )
            """,
            "ALTER TABLE tasks ADD COLUMN needs TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE tasks ADD COLUMN host TEXT",
            "ALTER TABLE attempts ADD COLUMN host TEXT",
        ),
    ),
    Migration(
        "0005_tasks_recent",
        (
            # `worker status` shows the live tasks and the 20 that finished last: with this
            # index that is 20 index entries, not a sort of every finished task (10,000
            # tasks: 3.4 ms of its 30; benchmarks/worker_bench.py).
            "CREATE INDEX tasks_recent ON tasks(state, updated_at DESC, id)",
        ),
    ),
)
