"""The worker's storage: every SQL statement of the worker lives in this package.

What lives where:

- `sqlite.py`: the SQLite backend. `connect()` opens (and migrates) a store and returns a
  `Db`; PRAGMAs (WAL, busy_timeout, foreign keys), `BEGIN IMMEDIATE`, lastrowid,
  `quick_check` and `sqlite_sequence` are known only there.
- `sqlite_schema.py`: the SQLite DDL as named, append-only migrations (lists of statements).
- `migrations.py`: `Migration` and the runner that applies the ones a store lacks.
- `setting.py`: which store a repository uses (`store` in `.worker.toml`, `WORKER_STORE`),
  checked before anything connects.
- `id_lists.py`: queries over many task ids, in bounded chunks.
- One module per table family, each a set of named operations taking a `Db`:
  `tasks` (tasks, steps), `attempts` (attempts, attempt_snapshots), `events` (events,
  cursors), `commands` (command_results), `reviews` (reviews, gate_results), `merges`,
  `profiles` (task_profiles, attempt_runtime). They return rows (read by column name) or
  plain values; turning rows into `Task`, `Attempt`, `Event` is the worker modules' job.

The family modules write portable SQL: `?` placeholders, `INSERT ... ON CONFLICT`, no
`INSERT OR ...`, no SQLite-only functions. A second backend (PostgreSQL) provides a module
like `sqlite.py`: a `Db` with `rows`, `row`, `value`, `run`, `insert(sql, params,
returning=KEY)` (`RETURNING KEY` there), `execute` (migrations and tests only),
`transaction()` (a write transaction that serialises writers), `snapshot()` (one consistent
read), `integrity_problem()`, `issued_keys(table)`, `has_table(name)`, `close()`;
placeholders translated from `?`; its own DDL under the same migration names; and a
`connect()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ai_skills.worker.store.commands import recall_result, remember_result
from ai_skills.worker.store.events import append_event
from ai_skills.worker.store.migrations import Migration
from ai_skills.worker.store.sqlite import DatabaseError, Db, Row, connect, migrate
from ai_skills.worker.store.sqlite_schema import MIGRATIONS

__all__ = [
    "MIGRATIONS",
    "DatabaseError",
    "Db",
    "Migration",
    "Row",
    "append_event",
    "connect",
    "migrate",
    "recall_result",
    "remember_result",
    "transaction",
]


@contextmanager
def transaction(db: Db) -> Iterator[Db]:
    """One write transaction taken up front; rolled back on any error."""
    with db.transaction():
        yield db
