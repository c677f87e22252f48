"""Stats from a hand-made event log, and the `[gates]` / `[policy]` sections of the config."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from worker_helpers import store_at

from ai_skills.worker.config import GatesConfig, load_config
from ai_skills.worker.errors import ConfigError
from ai_skills.worker.ops.stats import compute_stats
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import append_event, transaction
from ai_skills.worker.tasks import NewTask, add_task, change_state


def test_stats_come_from_the_event_log(tmp_path: Path) -> None:
    conn = store_at(tmp_path / "w.db")
    add_task(conn, NewTask(task_id="t1", title="t", base="main"), now=1000)
    path = [
        (1010, TaskState.RUNNING),
        (1100, TaskState.IN_REVIEW),
        (1150, TaskState.CHANGES_REQUESTED),
        (1160, TaskState.RUNNING),
        (1200, TaskState.IN_REVIEW),
        (1230, TaskState.APPROVED),
        (1240, TaskState.MERGING),
        (1250, TaskState.MERGED),
    ]
    for at, state in path:
        change_state(conn, "t1", state, action="test", now=at)
    with transaction(conn):
        for passed in (False, True, True, True):
            append_event(conn, kind="gate", task_id="t1", data={"passed": passed})
    add_task(conn, NewTask(task_id="t2", title="t", base="main"), now=1300)
    stats = compute_stats(conn, now=1360)
    t1, t2 = stats.tasks
    assert (t1.queue_wait, t1.run_time, t1.review_time, t1.merge_wait) == (10, 130, 80, 20)
    assert (t1.change_requests, t1.gate_runs, t1.gate_failures, t1.state) == (1, 4, 1, "merged")
    assert (t2.queue_wait, t2.state) == (60, "queued")  # still waiting: counted up to now
    agg = stats.aggregate
    assert agg["review_time"] == {"total": 80, "mean": 80, "median": 80, "max": 80}
    assert agg["queue_wait"]["mean"] == 35  # type: ignore[index]
    assert (agg["gate_failure_rate"], agg["change_requests"]) == (0.25, 1)


def test_gates_and_policy_sections(tmp_path: Path) -> None:
    path = tmp_path / ".worker.toml"
    path.write_text(
        '[gates]\ntimeout_seconds = 5\ntest = "pytest -q"\nlint = ["ruff", "check"]\n'
        '[policy]\nsensitive_paths = ["infra/**"]\nmax_change_requests = 4\n'
    )
    config = load_config(path)
    assert config.gates.timeout_seconds == 5
    assert config.gates.commands == {"test": "pytest -q", "lint": ["ruff", "check"]}
    assert config.policy.sensitive_paths == ["infra/**"] and config.policy.max_diff_lines == 1000
    assert load_config(tmp_path / "missing.toml").policy.sensitive_paths[0] == "**/auth/**"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gates]\ntest = 3\n", "gates.commands.test"),
        ("[gates]\ntimeout_seconds = 0\n", "gates.timeout_seconds"),
        ("[policy]\nsensitive = []\n", "policy.sensitive"),
        ('merge_strategy = "octopus"\n', "merge_strategy"),
    ],
)
def test_bad_review_settings_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".worker.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert caught.value.exit_code == 6 and str(path) in str(caught.value)


GATE_NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True).filter(
    lambda name: name not in ("timeout_seconds", "commands")
)


@given(st.dictionaries(GATE_NAMES, st.text(min_size=1, max_size=30), max_size=8))
def test_every_gate_name_becomes_a_command_in_table_order(table: dict[str, str]) -> None:
    gates = GatesConfig.model_validate({**table, "timeout_seconds": 7})
    assert list(gates.commands.items()) == list(table.items())
    assert gates.timeout_seconds == 7
