"""Named store operations whose SQL changed dialect: same effect as the statements they replaced."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from worker_helpers import store_at

from ai_skills.worker.store import Db, attempts, events, merges, profiles, reviews, transaction
from ai_skills.worker.tasks import NewTask, add_task

WORKER = Path(__file__).resolve().parents[2] / "src" / "ai_skills" / "worker"


@pytest.fixture
def db_with_a_task(tmp_path: Path) -> Db:
    """A fresh store holding task `t1` with one attempt (id 1)."""
    db = store_at(tmp_path / "worker.db")
    add_task(db, NewTask(task_id="t1", title="one", base="main"))
    with transaction(db):
        attempts.insert_attempt(
            db,
            task_id="t1",
            number=1,
            worktree="/w",
            branch="worker/t1",
            command="[]",
            prompt_file=None,
            log_file="/l",
            lease_until=None,
            heartbeat_at=0.0,
            progress_at=0.0,
            started_at=0.0,
        )
    return db


def test_beginning_a_merge_again_starts_a_fresh_record(db_with_a_task: Db) -> None:
    db = db_with_a_task
    merges.begin_merge(
        db, "t1", strategy="merge", integration="main", source_sha="a", started_at=1.0
    )
    merges.save_merge_step(
        db, "t1", "done", target_sha="b", merged_sha="c", done_at=2.0, detail="merged"
    )
    merges.begin_merge(
        db, "t1", strategy="squash", integration="main", source_sha="d", started_at=3.0
    )
    row = merges.open_merge_row(db, "t1")
    assert row is not None
    assert dict(row) == {
        "task_id": "t1",
        "strategy": "squash",
        "integration": "main",
        "source_sha": "d",
        "target_sha": None,
        "merged_sha": None,
        "step": "begin",
        "started_at": 3.0,
        "done_at": None,
        "detail": "",
    }


def test_recording_an_attempt_runtime_again_forgets_its_outcome(db_with_a_task: Db) -> None:
    db = db_with_a_task
    profiles.record_attempt_runtime(db, 1, profile="a", env="{}", policy="{}")
    profiles.record_outcome(db, 1, "rate_limited", "429")
    profiles.record_attempt_runtime(db, 1, profile="b", env='{"X": "1"}', policy="{}")
    row = profiles.attempt_runtime_row(db, 1)
    assert row is not None
    seen = (row["profile"], row["env"], row["outcome"], row["detail"])
    assert seen == ("b", '{"X": "1"}', None, "")


def test_a_cursor_advances_but_never_moves_back(db_with_a_task: Db) -> None:
    db = db_with_a_task
    events.advance_cursor(db, "c", 5)
    events.advance_cursor(db, "c", 3)
    assert events.load_cursor(db, "c") == 5
    events.set_cursor(db, "c", 2)
    assert events.load_cursor(db, "c") == 2


def test_a_snapshot_and_a_review_record_are_created_once(db_with_a_task: Db) -> None:
    db = db_with_a_task
    attempts.save_snapshot(db, 1, taken_at=1.0, data="{}")
    attempts.save_snapshot(db, 1, taken_at=2.0, data='{"x": 1}')
    assert dict(attempts.snapshot_row(db, 1) or {}) == {"taken_at": 1.0, "data": "{}"}
    reviews.request_changes(db, "t1", "first", count=True)
    reviews.request_changes(db, "t1", "second", count=True)
    row = reviews.review_row(db, "t1")
    assert row is not None and (row["feedback"], row["change_requests"]) == ("second", 2)


def test_update_attempt_refuses_a_column_fixed_at_admission(db_with_a_task: Db) -> None:
    with pytest.raises(ValueError, match="worktree"):
        attempts.update_attempt(db_with_a_task, 1, worktree="/elsewhere")


def test_no_worker_module_outside_the_store_runs_sql() -> None:
    offenders = [
        str(path.relative_to(WORKER))
        for path in WORKER.rglob("*.py")
        if "store" not in path.relative_to(WORKER).parts
        and re.search(r"\.execute(many|script)?\(", path.read_text())
    ]
    assert offenders == []


def test_the_rejected_pushes_of_many_tasks_are_each_ones_last_push(db_with_a_task: Db) -> None:
    # `worker status` asks once for every live task; the answer is task by task's.
    histories = {
        "never": [],
        "pushed": ["branch_pushed"],
        "rejected": ["push_rejected"],
        "then-pushed": ["push_rejected", "branch_pushed"],
        "then-rejected": ["branch_pushed", "push_rejected", "report"],
        "t1": ["push_rejected", "push_rejected"],
    }
    for task_id in histories:
        if task_id != "t1":
            add_task(db_with_a_task, NewTask(task_id=task_id, title=task_id, base="main"))
    with transaction(db_with_a_task):
        for task_id, kinds in histories.items():
            for n, kind in enumerate(kinds):
                events.append_event(db_with_a_task, kind=kind, task_id=task_id,
                                    data={"remote": "origin", "n": n})
    ids = [*histories, *(f"absent-{i}" for i in range(600))]  # more than one chunk
    expected = {task_id: events.last_push_rejected(db_with_a_task, task_id) for task_id in ids}
    assert events.push_rejections(db_with_a_task, ids) == {
        task_id: data for task_id, data in expected.items() if data is not None
    }
    assert set(events.push_rejections(db_with_a_task, ids)) == {"rejected", "then-rejected", "t1"}


def test_naming_the_live_states_finds_the_tasks_not_naming_them_finds(tmp_path: Path) -> None:
    from ai_skills.worker.ops.status import FINAL_STATES, LIVE_STATES
    from ai_skills.worker.store import tasks

    db = store_at(tmp_path / "worker.db")
    with transaction(db):
        for n in range(60):  # every state, several times, changed in a shuffled order
            state = [*LIVE_STATES, *FINAL_STATES][n % 12]
            tasks.insert_task(
                db, id=f"t{n:02d}", title="t", description="", scopes="[]", base="main",
                priority=0, runtime=None, runtime_command=None, state=state,
                branch=f"worker/t{n:02d}", created_at=float(n), updated_at=float(n * 7 % 60),
                needs="[]",
            )  # fmt: skip
    for recent in (0, 1, 4, 100):
        named = tasks.task_rows(db, final_states=FINAL_STATES, recent_final=recent,
                                live_states=LIVE_STATES)
        unnamed = tasks.task_rows(db, final_states=FINAL_STATES, recent_final=recent)
        assert [dict(r) for r in named] == [dict(r) for r in unnamed], recent
        assert len(named) == 45 + min(recent, 15)
