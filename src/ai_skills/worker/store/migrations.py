"""Named, append-only migrations and the runner that applies the ones a store lacks."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # every command opens the store, `worker status` too: no `typing`
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ai_skills.worker.store.backend import Db


# The table that records applied migrations, in SQLite's words (a backend may pass its own).
LEDGER = "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)"


class Migration:
    """One schema change: its recorded name and its statements, run in order."""

    __slots__ = ("name", "statements")

    def __init__(self, name: str, statements: tuple[str, ...]) -> None:
        self.name = name
        self.statements = statements

    def __iter__(self) -> Iterator[str | tuple[str, ...]]:
        """`name, statements = migration`, as when this was a NamedTuple."""
        return iter((self.name, self.statements))


def apply_migrations(
    db: Db, migrations: Sequence[Migration], *, ledger: str = LEDGER
) -> list[str]:
    """Apply the migrations not yet recorded, in one transaction; return their names.

    The transaction is the backend's write transaction, which serialises writers: two
    processes migrating at once apply each migration once (the second re-reads the ledger).
    """
    have = _applied(db)
    if have is not None and all(m.name in have for m in migrations):
        return []
    applied: list[str] = []
    with db.transaction():
        db.execute(ledger)
        have = _applied(db) or set()
        for migration in migrations:
            if migration.name in have:
                continue
            for statement in migration.statements:
                db.execute(statement)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (migration.name, time.time()))
            applied.append(migration.name)
    return applied


def _applied(db: Db) -> set[str] | None:
    # Read without a write lock first: every command connects, and nearly always the
    # store is current.
    if not db.has_table("migrations"):
        return None
    return {row["name"] for row in db.rows("SELECT name FROM migrations")}
