"""What a PostgreSQL store will rely on, checked on a real server: row claims with
`FOR UPDATE SKIP LOCKED` and LISTEN/NOTIFY delivery between connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pg_helpers import ScratchDatabase, require_psycopg

psycopg = require_psycopg()

CLAIM = "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"


@pytest.fixture
def queued_jobs(postgres_db: ScratchDatabase) -> Iterator[list[Any]]:
    """Three queued jobs, and two more connections to their database (like two workers)."""
    with psycopg.connect(postgres_db.url, autocommit=True) as setup:
        setup.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")
        setup.execute("INSERT INTO jobs VALUES (1, 'queued'), (2, 'queued'), (3, 'queued')")
    first = psycopg.connect(postgres_db.url)
    second = psycopg.connect(postgres_db.url)
    # A claim that blocks instead of skipping would hang the test; make it fail instead.
    for conn in (first, second):
        conn.execute("SET lock_timeout = '2s'")
        conn.commit()
    yield [first, second]
    first.close()
    second.close()


def test_two_connections_claim_different_rows_without_waiting(queued_jobs: list[Any]) -> None:
    first, second = queued_jobs
    claimed_first = first.execute(CLAIM).fetchone()
    claimed_second = second.execute(CLAIM).fetchone()
    assert (claimed_first, claimed_second) == ((1,), (2,))
    second.execute("UPDATE jobs SET state = 'running' WHERE id = 2")
    second.commit()
    first.rollback()  # a claimer that gives up releases its row to the next one
    assert second.execute(CLAIM).fetchone() == (1,)
    second.rollback()


def test_a_claimed_row_is_really_locked(queued_jobs: list[Any]) -> None:
    first, second = queued_jobs
    assert first.execute(CLAIM).fetchone() == (1,)
    with pytest.raises(psycopg.errors.LockNotAvailable):
        second.execute("SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT")
    second.rollback()
    first.execute("UPDATE jobs SET state = 'running' WHERE id = 1")
    first.commit()
    assert second.execute("SELECT state FROM jobs WHERE id = 1").fetchone() == ("running",)
    second.rollback()


def test_notify_reaches_a_listener_when_the_sender_commits(postgres_db: ScratchDatabase) -> None:
    with (
        psycopg.connect(postgres_db.url, autocommit=True) as listener,
        psycopg.connect(postgres_db.url) as sender,
    ):
        listener.execute("LISTEN task_events")
        sender.execute("SELECT pg_notify('task_events', 'rolled back')")
        sender.rollback()
        sender.execute("NOTIFY task_events, 't1 queued->running'")
        assert list(listener.notifies(timeout=0.3)) == []  # not before the commit
        sender.commit()
        got = [(n.channel, n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
        assert got == [("task_events", "t1 queued->running")]
        assert list(listener.notifies(timeout=0.3)) == []  # the rolled-back one never comes
