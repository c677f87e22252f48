"""The PostgreSQL schema: the SQLite migrations' names, in PostgreSQL's types.

Translated, not generated: INTEGER is BIGINT (pids, log sizes), REAL is DOUBLE PRECISION
(SQLite's REAL is 8 bytes), and task ids sort byte-wise (COLLATE "C") as in SQLite.
Generated keys (`attempts.id`, `events.seq`, `gate_results.id`) come from a counter row in
`issued_keys`, not from a sequence: a sequence is not rolled back with its transaction, so
a failed write would leave a gap, and a gap in `events` reads as a deleted event (see
`containment.store_problems`). The counter row is transactional like SQLite's
AUTOINCREMENT, and writers are serialised anyway (postgres.py).
"""

from __future__ import annotations

from ai_skills.worker.store.migrations import Migration

# Bookkeeping of the backend itself, created before any migration (one transaction).
LEDGER = (
    "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION)"
)

_ISSUED_KEYS = (
    "CREATE TABLE issued_keys (name TEXT PRIMARY KEY, issued BIGINT NOT NULL)",
    # A key given explicitly is kept, and the counter moves past it (SQLite does the same).
    """
    CREATE FUNCTION worker_issue_key() RETURNS trigger LANGUAGE plpgsql AS $body$
    DECLARE
        given BIGINT := (to_jsonb(NEW) ->> TG_ARGV[0])::BIGINT;
        issued BIGINT;
    BEGIN
        IF given IS NULL THEN
            INSERT INTO issued_keys AS k (name, issued) VALUES (TG_TABLE_NAME, 1)
                ON CONFLICT (name) DO UPDATE SET issued = k.issued + 1
                RETURNING k.issued INTO issued;
            NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], issued));
        ELSE
            INSERT INTO issued_keys AS k (name, issued) VALUES (TG_TABLE_NAME, given)
                ON CONFLICT (name) DO UPDATE SET issued = GREATEST(k.issued, given);
        END IF;
        RETURN NEW;
    END
    $body$
    """,
)


def _issued(table: str, column: str) -> str:
    return (
        f"CREATE TRIGGER {table}_issue_key BEFORE INSERT ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION worker_issue_key('{column}')"
    )


# Never edit or reorder a shipped entry, add a new one instead (as in sqlite_schema.py).
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_tasks_attempts_events",
        (
            *_ISSUED_KEYS,
            """
            CREATE TABLE tasks (
                id TEXT COLLATE "C" PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                scopes TEXT NOT NULL DEFAULT '[]',
                base TEXT NOT NULL,
                priority BIGINT NOT NULL DEFAULT 0,
                runtime TEXT,
                runtime_command TEXT,
                state TEXT NOT NULL,
                version BIGINT NOT NULL DEFAULT 1,
                reason TEXT NOT NULL DEFAULT '',
                branch TEXT NOT NULL,
                start_requested BIGINT NOT NULL DEFAULT 0,
                waiting_reason TEXT NOT NULL DEFAULT '',
                current_attempt BIGINT,
                worktree TEXT,
                worktree_removed BIGINT NOT NULL DEFAULT 0,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX tasks_state ON tasks(state)",
            """
            CREATE TABLE attempts (
                id BIGINT PRIMARY KEY,
                task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
                number BIGINT NOT NULL,
                worktree TEXT NOT NULL,
                branch TEXT NOT NULL,
                base_sha TEXT,
                command TEXT NOT NULL,
                prompt_file TEXT,
                log_file TEXT NOT NULL,
                supervisor_pid BIGINT,
                supervisor_token TEXT,
                agent_pid BIGINT,
                agent_token TEXT,
                lease_until DOUBLE PRECISION,
                heartbeat_at DOUBLE PRECISION,
                progress_at DOUBLE PRECISION,
                log_size BIGINT NOT NULL DEFAULT 0,
                head_sha TEXT,
                exit_code BIGINT,
                started_at DOUBLE PRECISION NOT NULL,
                ended_at DOUBLE PRECISION,
                UNIQUE(task_id, number)
            )
            """,
            _issued("attempts", "id"),
            """
            CREATE TABLE events (
                seq BIGINT PRIMARY KEY,
                at DOUBLE PRECISION NOT NULL,
                task_id TEXT COLLATE "C",
                attempt_id BIGINT,
                kind TEXT NOT NULL,
                from_state TEXT,
                to_state TEXT,
                data TEXT NOT NULL DEFAULT '{}'
            )
            """,
            _issued("events", "seq"),
            "CREATE INDEX events_task ON events(task_id, seq)",
            """
            CREATE TABLE command_results (
                key TEXT PRIMARY KEY,
                command TEXT NOT NULL,
                result TEXT NOT NULL,
                at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE steps (
                task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
                attempt_id BIGINT NOT NULL DEFAULT 0,
                name TEXT NOT NULL,
                started_at DOUBLE PRECISION NOT NULL,
                done_at DOUBLE PRECISION,
                detail TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (task_id, attempt_id, name)
            )
            """,
            """
            CREATE TABLE cursors (
                name TEXT PRIMARY KEY,
                seq BIGINT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "0002_gates_reviews_merges",
        (
            """
            CREATE TABLE gate_results (
                id BIGINT PRIMARY KEY,
                task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
                sha TEXT NOT NULL,
                purpose TEXT NOT NULL,
                gate TEXT NOT NULL,
                command TEXT NOT NULL,
                exit_code BIGINT,
                timed_out BIGINT NOT NULL DEFAULT 0,
                duration DOUBLE PRECISION NOT NULL,
                log_file TEXT NOT NULL,
                started_at DOUBLE PRECISION NOT NULL
            )
            """,
            _issued("gate_results", "id"),
            "CREATE INDEX gate_results_task ON gate_results(task_id, sha)",
            """
            CREATE TABLE reviews (
                task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id),
                approved_sha TEXT,
                approved_by TEXT,
                approved_at DOUBLE PRECISION,
                gates_waived TEXT NOT NULL DEFAULT '',
                feedback TEXT NOT NULL DEFAULT '',
                change_requests BIGINT NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE merges (
                task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id),
                strategy TEXT NOT NULL,
                integration TEXT NOT NULL,
                source_sha TEXT NOT NULL,
                target_sha TEXT,
                merged_sha TEXT,
                step TEXT NOT NULL,
                started_at DOUBLE PRECISION NOT NULL,
                done_at DOUBLE PRECISION,
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
                task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id),
                profile TEXT,
                fallback TEXT NOT NULL DEFAULT '[]',
                position BIGINT NOT NULL DEFAULT 0,
                rate_limits BIGINT NOT NULL DEFAULT 0,
                not_before DOUBLE PRECISION
            )
            """,
            """
            CREATE TABLE attempt_runtime (
                attempt_id BIGINT PRIMARY KEY REFERENCES attempts(id),
                profile TEXT,
                env TEXT NOT NULL DEFAULT '{}',
                policy TEXT NOT NULL DEFAULT '{}',
                outcome TEXT,
                detail TEXT NOT NULL DEFAULT ''
            )
            """,
            """
            CREATE TABLE attempt_snapshots (
                attempt_id BIGINT PRIMARY KEY REFERENCES attempts(id),
                taken_at DOUBLE PRECISION NOT NULL,
                data TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "0004_hosts",
        (
            """
            CREATE TABLE hosts (
                name TEXT COLLATE "C" PRIMARY KEY,
                labels TEXT NOT NULL DEFAULT '[]',
                max_running BIGINT NOT NULL,
                lease_until DOUBLE PRECISION,
                heartbeat_at DOUBLE PRECISION,
                started_at DOUBLE PRECISION NOT NULL
            )
            """,
            "ALTER TABLE tasks ADD COLUMN needs TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE tasks ADD COLUMN host TEXT COLLATE \"C\"",
            "ALTER TABLE attempts ADD COLUMN host TEXT COLLATE \"C\"",
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

# Which repository a database belongs to (postgres.py refuses another's); one row.
OWNER_TABLE = (
    "CREATE TABLE IF NOT EXISTS worker_repository ("
    " only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),"
    " repository TEXT NOT NULL, claimed_at DOUBLE PRECISION NOT NULL)"
)
