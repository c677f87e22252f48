"""The PostgreSQL store itself: writers take turns, migrations race safely, a database has
one owner, and a URL from `.worker.toml` never carries the environment's password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from worker_helpers import add

from ai_skills.cli.worker import main
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import StoreUnavailableError
from ai_skills.worker.store import MIGRATIONS, open_store
from ai_skills.worker.store.opening import REPOSITORY_ID
from ai_skills.worker.store.postgres import translate
from ai_skills.worker.tasks import get_task
from pg_helpers import ScratchDatabase

# Each writer reads the counter, waits, and writes it back plus one: without the writer
# lock two of them read the same value and one increment is lost.
WRITER = """
import sys, time, pathlib
from ai_skills.worker.store import postgres
url, go, rounds = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
db = postgres.connect(url, repository="race", password_from_environment=True)
while not go.exists(): time.sleep(0.001)
for _ in range(rounds):
    with db.transaction():
        seen = db.value("SELECT seq FROM cursors WHERE name = 'counter'")
        time.sleep(0.002)
        db.run("UPDATE cursors SET seq = ? WHERE name = 'counter'", (seen + 1,))
print("ok")
"""

MIGRATOR = """
import sys, time, pathlib
from ai_skills.worker.store import postgres
url, go = sys.argv[1], pathlib.Path(sys.argv[2])
while not go.exists(): time.sleep(0.001)
postgres.connect(url, repository="race", password_from_environment=True)
print("ok")
"""


def _racers(script: str, go: Path, *argv: str, count: int) -> list[subprocess.Popen[str]]:
    procs = [
        subprocess.Popen([sys.executable, "-c", script, *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]  # fmt: skip
    time.sleep(0.5)
    go.touch()
    return procs


def _outputs(procs: list[subprocess.Popen[str]]) -> list[str]:
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    return [out.strip() for out, _ in results]


def test_writers_in_several_processes_take_turns_and_lose_no_update(
    postgres_db: ScratchDatabase, tmp_path: Path
) -> None:
    from ai_skills.worker.store import postgres

    db = postgres.connect(postgres_db.url, repository="race", password_from_environment=True)
    db.run("INSERT INTO cursors (name, seq) VALUES ('counter', 0)")
    procs = _racers(WRITER, tmp_path / "go", postgres_db.url, str(tmp_path / "go"), "25",
                    count=4)  # fmt: skip
    assert _outputs(procs) == ["ok"] * 4
    assert db.value("SELECT seq FROM cursors WHERE name = 'counter'") == 100


def test_processes_migrating_a_new_database_at_once_apply_each_migration_once(
    postgres_db: ScratchDatabase, tmp_path: Path
) -> None:
    from ai_skills.worker.store import postgres

    go = tmp_path / "go"
    assert _outputs(_racers(MIGRATOR, go, postgres_db.url, str(go), count=4)) == ["ok"] * 4
    db = postgres.connect(postgres_db.url, repository="race", password_from_environment=True)
    names = [row["name"] for row in db.rows("SELECT name FROM migrations ORDER BY name")]
    assert names == [migration.name for migration in MIGRATIONS]


def test_a_rolled_back_event_leaves_no_gap_in_the_log(postgres_db: ScratchDatabase) -> None:
    from ai_skills.worker.store import events, postgres

    db = postgres.connect(postgres_db.url, repository="r", password_from_environment=True)
    assert events.append_event(db, kind="one", task_id=None) == 1
    with pytest.raises(RuntimeError), db.transaction():
        events.append_event(db, kind="rolled back", task_id=None)
        raise RuntimeError("abandon")
    assert events.append_event(db, kind="two", task_id=None) == 2
    assert db.issued_keys("events") == events.event_count(db) == 2
    db.run("DELETE FROM events WHERE seq = 1")
    assert db.issued_keys("events") == 2  # a deletion stays visible, as in SQLite


def test_rows_read_like_sqlite_rows(postgres_db: ScratchDatabase) -> None:
    from ai_skills.worker.store import postgres

    db = postgres.connect(postgres_db.url, repository="r", password_from_environment=True)
    row = db.row("SELECT 1 AS one, 'x' AS two")
    assert row is not None
    assert (row["one"], row[1], dict(row), tuple(row)) == (1, "x", {"one": 1, "two": "x"}, (1, "x"))
    with pytest.raises(IndexError):
        row["three"]


@pytest.mark.parametrize(
    ("portable", "psycopg"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("SELECT '?' , ? WHERE x LIKE '%a'", "SELECT '?' , %s WHERE x LIKE '%%a'"),
        ("SELECT \"odd?name\", 'it''s ?' , ?", "SELECT \"odd?name\", 'it''s ?' , %s"),
    ],
)
def test_placeholders_are_translated_outside_quotes_and_percent_is_escaped(
    portable: str, psycopg: str
) -> None:
    assert translate(portable) == psycopg


def test_a_database_claimed_by_another_repository_is_refused(
    postgres_db: ScratchDatabase, ctx: RepoContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_STORE", postgres_db.url)
    open_store(ctx).close()
    ours = (ctx.worker_dir / REPOSITORY_ID).read_text().strip()
    (ctx.worker_dir / REPOSITORY_ID).write_text("someone-else\n")
    with pytest.raises(StoreUnavailableError, match="belongs to another repository") as caught:
        open_store(ctx)
    assert ours in str(caught.value) and "someone-else" in str(caught.value)
    (ctx.worker_dir / REPOSITORY_ID).write_text(ours + "\n")  # the remedy the message gives
    open_store(ctx).close()


def test_a_url_from_the_file_gets_the_password_file_never_pgpassword(
    postgres_db: ScratchDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_skills.worker.store import postgres

    passfile = tmp_path / "pgpass"
    passfile.write_text("*:*:*:*:from-the-file\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    monkeypatch.setenv("PGPASSWORD", "from-the-environment")
    url = postgres_db.url
    from_env = postgres.connect(url, repository="r", password_from_environment=True)
    from_file = postgres.connect(url, repository="r", password_from_environment=False)
    # With `trust` the server asks for no password; libpq still shows what it would send.
    assert from_env.conn.info.password == "from-the-environment"
    assert from_file.conn.info.password == "from-the-file"


def test_the_cli_runs_on_a_postgresql_store_named_in_the_file(
    postgres_db: ScratchDatabase, worker_repo: Path, ctx: RepoContext,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.delenv("WORKER_STORE", raising=False)
    with open(worker_repo / ".worker.toml", "a") as handle:
        handle.write(f'store = "{postgres_db.url}"\n')
    monkeypatch.chdir(worker_repo)
    assert main(["add", "t1", "--title", "on postgres"]) == 0
    assert main(["status"]) == 0
    assert "t1" in capsys.readouterr().out
    assert not ctx.db_path.exists()  # nothing went to a SQLite file
    db = open_store(ctx)
    add(db, "t2")
    assert get_task(db, "t1").title == "on postgres" and get_task(db, "t2").state.value == "queued"


def test_the_sqlite_store_never_imports_psycopg(worker_repo: Path) -> None:
    # status, and a watch that runs a hook (its waiter and the hook claims); the daemon's
    # hook thread is imported, as the daemon does.
    with (worker_repo / ".worker.toml").open("a") as handle:
        handle.write(f"hook_command = {json.dumps([sys.executable, '-c', 'pass'])}\n")
    script = (
        "import sys\n"
        "from ai_skills.cli.worker import main\n"
        "from ai_skills.worker.ops.daemon import _hook_loop\n"
        "code = main(['status']) + main(['add', 't1', '--title', 'one'])\n"
        "code += main(['cancel', 't1', '--reason', 'r']) + main(['watch', '--json'])\n"
        "print(code, 'psycopg' in sys.modules)\n"
    )
    env_free = {k: v for k, v in os.environ.items() if k != "WORKER_STORE"}
    done = subprocess.run([sys.executable, "-c", script], cwd=worker_repo, env=env_free,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stderr
    assert '"to_state": "cancelled"' in done.stdout


def test_a_connection_the_server_dropped_is_replaced_on_the_next_statement(
    postgres_db: ScratchDatabase,
) -> None:
    import psycopg

    from ai_skills.worker.store import postgres

    db = postgres.connect(postgres_db.url, repository="r", password_from_environment=True)
    with psycopg.connect(postgres_db.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (db.conn.info.backend_pid,))
    with pytest.raises(psycopg.OperationalError):
        db.value("SELECT 1")  # the statement that finds the connection gone fails
    assert db.value("SELECT 1") == 1
    with db.transaction():
        db.run("INSERT INTO cursors (name, seq) VALUES ('after', 1)")
    assert db.value("SELECT seq FROM cursors WHERE name = 'after'") == 1
