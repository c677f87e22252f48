"""Fixtures for worker tests: a repository with fast liveness timings and a scripted agent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import stop_everything, write_config

from ai_skills.worker.config import WorkerConfig, load_config
from ai_skills.worker.context import RepoContext, find_repo
from ai_skills.worker.store import connect


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
def conn(ctx: RepoContext) -> Iterator[sqlite3.Connection]:
    connection = connect(ctx.db_path)
    yield connection
    stop_everything(connection)
    connection.close()
