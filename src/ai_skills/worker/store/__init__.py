"""The worker's storage: every SQL statement of the worker lives in this package.

What lives where:

- `opening.py`: `open_store(ctx)`, the one way the worker opens its store: SQLite, or the
  PostgreSQL server the `store` setting names (setting.py).
- `backend.py`: `Db` and `Row`, what every backend provides and the family modules use, and
  `transaction(db)`.
- `sqlite.py`: the SQLite backend. `connect()` opens (and migrates) a store and returns a
  `Db`; PRAGMAs (WAL, busy_timeout, foreign keys), `BEGIN IMMEDIATE`, lastrowid,
  `quick_check` and `sqlite_sequence` are known only there.
- `sqlite_schema.py`: the SQLite DDL as named, append-only migrations (lists of statements).
- `postgres.py`, `postgres_schema.py`: the PostgreSQL backend (psycopg 3, imported only when
  configured) and its DDL under the same migration names.
- `migrations.py`: `Migration` and the runner that applies the ones a store lacks.
- `setting.py`: which store a repository uses (`store` in `.worker.toml`, `WORKER_STORE`),
  checked before anything connects.
- `id_lists.py`: queries over many task ids, in bounded chunks.
- One module per table family, each a set of named operations taking a `Db`:
  `tasks` (tasks, steps), `attempts` (attempts, attempt_snapshots), `events` (events,
  cursors), `commands` (command_results), `reviews` (reviews, gate_results), `merges`,
  `profiles` (task_profiles, attempt_runtime), `hosts` (hosts; the host columns of tasks
  and attempts). They return rows (read by column name) or
  plain values; turning rows into `Task`, `Attempt`, `Event` is the worker modules' job.

The family modules write portable SQL: `?` placeholders, `INSERT ... ON CONFLICT`, no
`INSERT OR ...`, no SQLite-only functions, no Python booleans compared with text. Each
backend gives a `Db` with `rows`, `row`, `value`, `run`, `insert(sql, params, returning=KEY)`,
`execute` (migrations and tests only), `transaction()` (a write transaction that serialises
writers), `snapshot()` (one consistent read), `integrity_problem()`, `issued_keys(table)`,
`has_table(name)`, `close()`.
"""

from __future__ import annotations

import sys

# Importing any family module (`store.tasks`) runs this file first, and `worker status`
# imports a few of them: the names below load on first use (PEP 562), so reading tasks
# does not import the backends, their migrations or `contextlib` (benchmarks/worker_bench.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ai_skills.worker.store.backend import Db, Row, transaction
    from ai_skills.worker.store.commands import recall_result, remember_result
    from ai_skills.worker.store.events import append_event
    from ai_skills.worker.store.migrations import Migration
    from ai_skills.worker.store.opening import database_errors, open_store, store_exists
    from ai_skills.worker.store.sqlite import connect, migrate
    from ai_skills.worker.store.sqlite_schema import MIGRATIONS

# Each exported name -> the module (in this package) that defines it.
_HOMES = {
    "MIGRATIONS": "sqlite_schema",
    "Db": "backend",
    "Migration": "migrations",
    "Row": "backend",
    "append_event": "events",
    "connect": "sqlite",
    "database_errors": "opening",
    "migrate": "sqlite",
    "open_store": "opening",
    "recall_result": "commands",
    "remember_result": "commands",
    "store_exists": "opening",
    "transaction": "backend",
}

__all__ = [
    "MIGRATIONS",
    "Db",
    "Migration",
    "Row",
    "append_event",
    "connect",
    "database_errors",
    "migrate",
    "open_store",
    "recall_result",
    "remember_result",
    "store_exists",
    "transaction",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = f"{__name__}.{home}"
    __import__(module)  # not importlib: its import costs more than this whole lookup
    value = getattr(sys.modules[module], name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value
