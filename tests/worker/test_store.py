"""The store: migrations, pragmas, sharing across worktrees, idempotency keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from worker_helpers import add, git, store_at

from ai_skills.worker.context import find_repo
from ai_skills.worker.run.report import report
from ai_skills.worker.store import MIGRATIONS, connect, database_errors, migrate
from ai_skills.worker.tasks import NewTask, add_task, get_task


def test_connect_applies_named_migrations_once(tmp_path: Path) -> None:
    db = tmp_path / "w" / "worker.db"
    conn = store_at(db)
    names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert migrate(conn) == []
    assert store_at(db).execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)


@pytest.mark.sqlite_only(reason="SQLite's PRAGMAs")
def test_connect_sets_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    conn = connect(tmp_path / "worker.db", busy_timeout_ms=1234)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_foreign_keys_refuse_an_attempt_of_an_unknown_task(tmp_path: Path) -> None:
    conn = store_at(tmp_path / "worker.db")
    try:
        conn.execute(
            "INSERT INTO attempts (task_id, number, worktree, branch, command, log_file,"
            " started_at) VALUES ('nope', 1, '/x', 'b', '[]', '/l', 0)"
        )
    except database_errors() as exc:
        assert "foreign key" in str(exc).lower()
    else:
        raise AssertionError("an attempt for an unknown task was accepted")


def test_every_worktree_of_a_repo_shares_one_store(git_repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(git_repo, "worktree", "add", "-q", "-b", "side", str(linked))
    main_ctx, linked_ctx = find_repo(git_repo), find_repo(linked)
    assert main_ctx.db_path == linked_ctx.db_path
    assert main_ctx.db_path == (git_repo / ".git" / "worker" / "worker.db").resolve()
    assert linked_ctx.repo_root == git_repo.resolve()


def test_add_with_the_same_idempotency_key_returns_the_first_task(tmp_path: Path) -> None:
    conn = store_at(tmp_path / "worker.db")
    new = NewTask(task_id="t1", title="one", base="main")
    first = add_task(conn, new, key="k-1")
    again = add_task(conn, new, key="k-1")
    assert again.id == first.id and again.version == first.version
    assert conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'added'").fetchone()[0] == 1


def test_report_with_a_repeated_key_is_applied_once(tmp_path: Path) -> None:
    conn = store_at(tmp_path / "worker.db")
    add(conn, "t1")
    conn.execute(
        "INSERT INTO attempts (task_id, number, worktree, branch, command, log_file,"
        " started_at) VALUES ('t1', 1, '/x', 'worker/t1', '[]', '/l', 0)"
    )
    conn.execute("UPDATE tasks SET current_attempt = 1, state = 'running' WHERE id = 't1'")
    first = report(conn, task_id="t1", attempt_id=1, status="needs-input", key="r1")
    second = report(conn, task_id="t1", attempt_id=1, status="needs-input", key="r1")
    assert first == second
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events WHERE task_id = 't1'")]
    assert kinds.count("transition") == 1 and "report" not in kinds
    assert get_task(conn, "t1").state.value == "needs_input"


def test_list_tasks_keeps_every_live_task_and_the_last_finished(tmp_path: Path) -> None:
    from ai_skills.worker.states import TaskState
    from ai_skills.worker.store import transaction
    from ai_skills.worker.tasks import list_tasks

    conn = connect(tmp_path / "worker.db")
    for i in range(8):
        add_task(conn, NewTask(task_id=f"t{i}", title="x", base="main"), now=float(i))
    finals = {"t0": ("merged", 10), "t2": ("cancelled", 30), "t3": ("failed", 20),
              "t5": ("merged", 40)}
    with transaction(conn):
        for task_id, (state, at) in finals.items():
            conn.execute("UPDATE tasks SET state = ?, updated_at = ? WHERE id = ?",
                         (state, at, task_id))
    shown = [t.id for t in list_tasks(conn, recent_final=2)]
    assert shown == ["t1", "t2", "t4", "t5", "t6", "t7"]  # creation order; t0, t3 oldest
    assert [t.id for t in list_tasks(conn)] == [f"t{i}" for i in range(8)]
    merged = list_tasks(conn, states={TaskState.MERGED}, recent_final=1)
    assert [t.id for t in merged] == ["t5"]
    assert list_tasks(conn, states=set()) == []
