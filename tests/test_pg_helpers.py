"""The scratch PostgreSQL fixtures: a fresh database per test, a cluster that leaves nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pg_helpers import (
    PostgresServer,
    ScratchDatabase,
    database_url,
    find_pg_bin,
    process_alive,
    require_psycopg,
    start_scratch_cluster,
)

psycopg = require_psycopg()


def test_each_test_gets_an_empty_database_of_its_own(
    postgres_server: PostgresServer, postgres_db: ScratchDatabase
) -> None:
    with psycopg.connect(postgres_db.url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (postgres_db.name,)
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert tables == (0,)
    other = postgres_server.create_database()
    postgres_server.drop_database(other.name)
    assert other.name != postgres_db.name
    with psycopg.connect(postgres_server.url) as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert postgres_db.name in names and other.name not in names


def test_a_database_left_connected_is_still_dropped(postgres_server: PostgresServer) -> None:
    database = postgres_server.create_database()
    leftover = psycopg.connect(database.url)
    postgres_server.drop_database(database.name)
    with psycopg.connect(postgres_server.url) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database.name,)
        ).fetchone()
    assert found is None
    leftover.close()


@pytest.mark.slow
def test_a_stopped_cluster_leaves_no_process_and_no_folder() -> None:
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    cluster = start_scratch_cluster()
    pid = cluster.postmaster_pid()
    assert pid is not None and process_alive(pid)
    with psycopg.connect(cluster.socket_url) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
    with psycopg.connect(cluster.url) as conn:
        assert conn.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
    watchdog = cluster.watchdog
    cluster.stop()
    assert not process_alive(pid)
    assert watchdog is not None and watchdog.poll() is not None
    assert not cluster.root.exists()
    assert os.geteuid() != 0 or cluster.run_as == "postgres"


def test_database_url_keeps_everything_but_the_database() -> None:
    url = "postgresql://ada@db.example:6543/postgres?sslmode=require"
    assert database_url(url, "test_1") == "postgresql://ada@db.example:6543/test_1?sslmode=require"


def test_a_pg_bin_override_without_the_programs_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_SKILLS_PG_BIN", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    found = find_pg_bin()
    assert found != tmp_path
