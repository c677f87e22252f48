"""Fixtures for worker tests: a repository with fast liveness timings and a scripted agent.

The store backend the tests run on: SQLite, or with AI_SKILLS_TEST_STORE=postgresql a fresh
PostgreSQL database per test, named in WORKER_STORE so that every process a test starts (the
CLI, daemons, supervisors) opens it. bin/test runs this folder once per backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import stop_everything, write_config

from ai_skills.worker.config import WorkerConfig, load_config
from ai_skills.worker.context import RepoContext, find_repo
from ai_skills.worker.store import Db, open_store

STORE_VAR = "AI_SKILLS_TEST_STORE"
BACKENDS = ("sqlite", "postgresql")


def store_backend() -> str:
    """The backend this run tests: `sqlite` (the default) or `postgresql`."""
    backend = os.environ.get(STORE_VAR) or "sqlite"
    if backend not in BACKENDS:
        raise pytest.UsageError(f"{STORE_VAR} must be one of {', '.join(BACKENDS)}")
    return backend


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if store_backend() != "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(autouse=True)
def worker_store(isolated_home: Path, request: pytest.FixtureRequest,
                 monkeypatch: pytest.MonkeyPatch) -> str | None:
    """On the PostgreSQL run, WORKER_STORE names this test's own fresh database."""
    if store_backend() != "postgresql":
        return None
    database = request.getfixturevalue("postgres_db")
    monkeypatch.setenv("WORKER_STORE", database.url)
    return str(database.url)


@pytest.fixture
def worker_repo(git_repo: Path) -> Path:
    """A repository with `.worker.toml` (WIP 3, fast heartbeats) running the scripted agent."""
    write_config(git_repo)
    return git_repo


@pytest.fixture
def ctx(worker_repo: Path) -> RepoContext:
    return find_repo(worker_repo)


@pytest.fixture
def config(ctx: RepoContext) -> WorkerConfig:
    return load_config(ctx.config_path)


@pytest.fixture
def conn(ctx: RepoContext) -> Iterator[Db]:
    connection = open_store(ctx)
    yield connection
    stop_everything(connection)
    connection.close()
