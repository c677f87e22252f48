"""Opening the configured store: SQLite in the git folder, or the PostgreSQL server named by
`store` (`.worker.toml`) or WORKER_STORE. Every process that opens the store comes here."""

from __future__ import annotations

import os
import sys

from ai_skills.worker.errors import StoreUnavailableError
from ai_skills.worker.store import sqlite
from ai_skills.worker.store.setting import ENV_VAR, StoreSetting, resolve_store

# `worker status` opens the store on every poll: `re`, `pathlib` and `typing` would cost it
# more than opening SQLite (benchmarks/worker_bench.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from ai_skills.worker.context import RepoContext
    from ai_skills.worker.store.backend import Db

REPOSITORY_ID = "store-id"  # in the worker folder: this repository's claim on a database


def open_store(ctx: RepoContext, *, peek: bool = False) -> Db:
    """A connection to the repository's store, migrated; raises when it cannot be opened.

    `peek` (the role check, before any command runs): a clone with no repository id yet
    reads a PostgreSQL database as its owner's, without keeping that id, so that the
    command after it may still join (`daemon start --host`) or be refused.
    """
    setting = resolve_store(ctx.config_file, os.environ)
    if not setting.is_postgresql:
        return sqlite.connect(ctx.db_file)
    return _open_postgres(ctx, setting, peek=peek)


def store_exists(ctx: RepoContext) -> bool:
    """Whether the repository has a store to read (False for an unused SQLite one)."""
    setting = resolve_store(ctx.config_file, os.environ)
    return setting.is_postgresql or os.path.exists(ctx.db_file)


def database_errors() -> tuple[type[Exception], ...]:
    """The exceptions a failing statement raises, of each backend loaded in this process."""
    found: list[type[Exception]] = [sqlite.DatabaseError]
    if "psycopg" in sys.modules:
        found.append(sys.modules["psycopg"].Error)
    return tuple(found)


def _open_postgres(ctx: RepoContext, setting: StoreSetting, *, peek: bool) -> Db:
    from_env = setting.origin == ENV_VAR
    where = setting.origin if from_env else f"{setting.origin}: store"
    try:
        from ai_skills.worker.store import postgres
    except ImportError as exc:
        raise StoreUnavailableError(
            where=where,
            detail=f"psycopg is not installed ({exc.name}); install ai-skills[postgresql]",
        ) from exc
    assert setting.url is not None
    ours = None
    if peek and not (ctx.worker_dir / REPOSITORY_ID).exists():
        try:
            ours = postgres.database_owner(setting.url, password_from_environment=from_env)
        except postgres.psycopg.OperationalError:
            ours = None  # connecting below says why
    ours = ours or repository_id(ctx.worker_dir)
    try:
        return postgres.connect(setting.url, repository=ours, password_from_environment=from_env)
    except postgres.OwnerMismatchError as exc:
        raise StoreUnavailableError(
            where=where,
            detail=(
                f"the database belongs to another repository ({exc.theirs}, this one is "
                f"{exc.ours}); give each repository its own database, or, when this "
                f"repository is its owner (a new clone), write {exc.theirs} into "
                f"{ctx.worker_dir / REPOSITORY_ID}"
            ),
        ) from exc
    except postgres.psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreUnavailableError(where=where, detail=f"cannot connect: {first}") from exc


def join_database(ctx: RepoContext) -> str | None:
    """A clone without a repository id takes the one of the database it is configured for.

    For `worker daemon start --host`: that is the explicit opt-in to share the database with
    the other clones of one repository (docs/worker.md, Several hosts). A clone that has an
    id keeps it (a foreign one is refused when the store opens); a database nobody claimed
    yet is claimed as usual. Returns the id adopted, if any.
    """
    setting = resolve_store(ctx.config_path, os.environ)
    if not setting.is_postgresql or (ctx.worker_dir / REPOSITORY_ID).exists():
        return None
    from_env = setting.origin == ENV_VAR
    where = setting.origin if from_env else f"{setting.origin}: store"
    try:
        from ai_skills.worker.store import postgres
    except ImportError:
        return None  # opening the store says what to install
    assert setting.url is not None
    try:
        owner = postgres.database_owner(setting.url, password_from_environment=from_env)
    except postgres.psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreUnavailableError(where=where, detail=f"cannot connect: {first}") from exc
    if owner is None:
        return None
    import re

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", owner):
        raise StoreUnavailableError(
            where=where, detail=f"the database names its repository {owner[:80]!r}, not an id"
        )
    return repository_id(ctx.worker_dir, new=owner)


def repository_id(worker_dir: Path, *, new: str | None = None) -> str:
    """This repository's id (made once, kept in the worker folder), to claim a database;
    `new` is the id to keep when there is none yet (a random one otherwise)."""
    path = worker_dir / REPOSITORY_ID
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    import tempfile  # here: SQLite stores never need an id, and `status` should not load these
    import uuid
    from pathlib import Path

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=worker_dir, prefix=f".{REPOSITORY_ID}.")
    temp = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write((new or uuid.uuid4().hex) + "\n")
    try:
        os.link(temp, path)  # first writer wins; a racing process reads the winner's id
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return path.read_text(encoding="utf-8").strip()
