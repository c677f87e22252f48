"""The state machine: the table, refusals, and a property test over random command sequences."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from worker_helpers import store_at

from ai_skills.worker.errors import IllegalTransitionError, WorkerError
from ai_skills.worker.ops.liveness import liveness_pass
from ai_skills.worker.run.admission import LaunchPlan, admit
from ai_skills.worker.run.report import STATUS_TARGETS, report
from ai_skills.worker.states import ACTIVE, TERMINAL, TRANSITIONS, TaskState, allowed_targets
from ai_skills.worker.tasks import NewTask, add_task, change_state, get_task, list_tasks

IMPLEMENTED = {s.value for s in TaskState}
MAX_RUNNING = 2


def test_state_names_are_exactly_the_documented_ones() -> None:
    assert [s.value for s in TaskState] == [
        "queued",
        "running",
        "needs_input",
        "stalled",
        "in_review",
        "changes_requested",
        "approved",
        "needs_human",
        "merging",
        "merged",
        "cancelled",
        "failed",
    ]
    assert isinstance(TaskState.IN_REVIEW, str) and TaskState.IN_REVIEW == "in_review"


def test_every_state_is_wired_and_only_terminal_states_are_dead_ends() -> None:
    assert {s.value for pair in TRANSITIONS for s in pair} == IMPLEMENTED
    for state in TaskState:
        if state == TaskState.FAILED:
            # Final for the automatic machinery; only `worker retry` queues it again.
            assert allowed_targets(state) == [TaskState.QUEUED]
            continue
        assert (allowed_targets(state) == []) == (state in TERMINAL)
    # merged is reached only through merging, and merging only from approved.
    assert [a for a, b in TRANSITIONS if b == TaskState.MERGED] == [TaskState.MERGING]
    assert [a for a, b in TRANSITIONS if b == TaskState.MERGING] == [TaskState.APPROVED]


def test_illegal_transition_names_the_current_state(tmp_path: Path) -> None:
    conn = store_at(tmp_path / "w.db")
    add_task(conn, NewTask(task_id="t1", title="t", base="main"))
    with pytest.raises(IllegalTransitionError, match="task 't1' is queued; cannot review"):
        change_state(conn, "t1", TaskState.IN_REVIEW, action="review")
    assert get_task(conn, "t1").state == TaskState.QUEUED


def _plan(tmp: Path, task_id: str) -> LaunchPlan:
    return LaunchPlan(
        command=["agent"],
        worktree=tmp / "wt" / task_id,
        runs_dir=tmp / "runs" / task_id,
        lease_seconds=1.0,
    )


IDS = st.sampled_from(["a", "b", "c", "d"])
COMMANDS = st.one_of(
    st.tuples(st.just("add"), IDS),
    st.tuples(st.just("start"), IDS),
    st.tuples(st.just("report"), IDS, st.sampled_from(sorted(STATUS_TARGETS)), st.booleans()),
    st.tuples(st.just("cancel"), IDS),
    st.tuples(st.just("fail"), IDS),
    st.tuples(st.just("requeue"), IDS),
    st.tuples(st.sampled_from(["approve", "request", "human", "merging", "merged", "void"]), IDS),
    st.tuples(st.just("liveness"), st.floats(min_value=0, max_value=10_000)),
)


def _apply(conn: sqlite3.Connection, tmp: Path, command: tuple[object, ...]) -> None:
    kind = command[0]
    if kind == "liveness":
        liveness_pass(conn, stall_after=5_000, now=float(command[1]) + 1e9)  # type: ignore[arg-type]
        return
    task_id = str(command[1])
    if kind == "add":
        add_task(conn, NewTask(task_id=task_id, title=task_id, base="main"))
    elif kind == "start":
        admit(conn, task_id, _plan(tmp, task_id), max_running=MAX_RUNNING)
    elif kind == "report":
        task = get_task(conn, task_id)
        old = bool(command[3]) and task.current_attempt is not None
        attempt = (task.current_attempt or 0) - 1 if old else None
        report(conn, task_id=task_id, attempt_id=attempt, status=str(command[2]))
    else:
        target = {
            "cancel": TaskState.CANCELLED,
            "fail": TaskState.FAILED,
            "requeue": TaskState.QUEUED,
            "approve": TaskState.APPROVED,
            "request": TaskState.CHANGES_REQUESTED,
            "human": TaskState.NEEDS_HUMAN,
            "merging": TaskState.MERGING,
            "merged": TaskState.MERGED,
            "void": TaskState.IN_REVIEW,
        }[str(kind)]
        change_state(conn, task_id, target, action=str(kind))


def _check_invariants(conn: sqlite3.Connection) -> None:
    seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1)), "event log has a gap"
    tasks = list_tasks(conn)
    assert sum(t.state in ACTIVE for t in tasks) <= MAX_RUNNING
    for task in tasks:
        assert task.state.value in IMPLEMENTED
        rows = conn.execute(
            "SELECT from_state, to_state FROM events WHERE task_id = ? AND kind = 'transition'"
            " ORDER BY seq",
            (task.id,),
        ).fetchall()
        state = TaskState.QUEUED
        for from_state, to_state in rows:
            assert from_state == state.value, "a transition event is missing"
            assert (TaskState(from_state), TaskState(to_state)) in TRANSITIONS
            state = TaskState(to_state)
        assert state == task.state, "replaying the events does not give the stored state"
        assert task.version == 1 + len(rows)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(COMMANDS, max_size=40))
def test_random_commands_never_reach_an_illegal_state_or_lose_an_event(
    commands: list[tuple[object, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        conn = store_at(tmp / "w.db")
        for command in commands:
            before = {t.id: (t.state, t.version) for t in list_tasks(conn)}
            try:
                _apply(conn, tmp, command)
            except WorkerError:
                # A refusal changes no task (a refused report is only recorded as an event).
                assert {t.id: (t.state, t.version) for t in list_tasks(conn)} == before
            _check_invariants(conn)
        conn.close()
