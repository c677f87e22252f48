"""Refusals that must say the right thing: merge of a task that is not approved, a busy
merge lock, a bogus strategy, an empty runtime command, a task id git cannot use."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from review_helpers import add_review_config, approved, to_review

from ai_skills.cli.worker import main
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import InvalidTaskIdError, ReviewRefusedError
from ai_skills.worker.review.merge import merge_task
from ai_skills.worker.review.verdict import request_changes
from ai_skills.worker.tasks import validate_task_id


@pytest.fixture
def rconfig(worker_repo: Path, monkeypatch: pytest.MonkeyPatch) -> WorkerConfig:
    monkeypatch.chdir(worker_repo)
    return add_review_config(worker_repo)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_merge_of_a_task_sent_back_does_not_suggest_approving_it(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    to_review(ctx, conn, rconfig, "t1")
    request_changes(ctx, conn, rconfig, "t1", reason="add tests", restart=False, human=False)
    with pytest.raises(ReviewRefusedError) as refused:
        merge_task(ctx, conn, rconfig, "t1")
    message = str(refused.value)
    assert "--approve" not in message
    assert "changes were requested" in message and "worker start t1" in message


def test_merge_of_a_merged_task_says_it_is_merged(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    approved(ctx, conn, rconfig, "t1")
    assert merge_task(ctx, conn, rconfig, "t1").outcome == "merged"
    code, _, err = run(capsys, "merge", "t1")
    assert code == 4 and "--approve" not in err
    assert "task 't1': is already merged" in err


def test_merge_strategy_bogus_is_bad_input(
    ctx: RepoContext,
    conn: sqlite3.Connection,
    rconfig: WorkerConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    approved(ctx, conn, rconfig, "t1")
    code, _, err = run(capsys, "merge", "t1", "--strategy", "bogus")
    assert code == 2 and "unknown strategy 'bogus'" in err and "merge, squash, rebase" in err


HOLDER = """
import fcntl, json, os, sys, time
from ai_skills.worker.process_identity import start_token
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(0.4)  # a merge that took the lock and has not written its name yet
record = {"task": "t9", "pid": os.getpid(), "token": start_token(os.getpid())}
os.ftruncate(fd, 0)
os.pwrite(fd, json.dumps(record).encode(), 0)
time.sleep(5)
"""


def test_a_busy_merge_lock_names_its_holder_also_right_after_it_was_taken(
    ctx: RepoContext, conn: sqlite3.Connection, rconfig: WorkerConfig
) -> None:
    approved(ctx, conn, rconfig, "t1")
    lock = ctx.worker_dir / "merge.lock"
    lock.write_text("old-task")  # left by an earlier merge that crashed
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(Exception, match=r"another merge \(t9\) is running"):
            merge_task(ctx, conn, rconfig, "t1")
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("value", ['""', '"   "', "[]"])
def test_an_empty_runtime_command_in_the_config_is_an_error(
    worker_repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    monkeypatch.chdir(worker_repo)
    (worker_repo / ".worker.toml").write_text(f"runtime_command = {value}\n")
    code, _, err = run(capsys, "add", "t1", "--title", "x")
    assert code == 6 and "runtime_command" in err and "empty" in err


def test_an_empty_runtime_command_flag_is_an_error(
    worker_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(worker_repo)
    code, _, err = run(capsys, "add", "t1", "--title", "x", "--runtime-command", "")
    assert code == 2 and "runtime command is empty" in err
    assert run(capsys, "add", "t1", "--title", "x")[0] == 0
    code, _, err = run(capsys, "start", "t1", "--runtime-command", " ")
    assert code == 2 and "runtime command is empty" in err


@pytest.mark.parametrize("branch", ["--upload-pack=touch PWNED", "a..b", "x y"])
def test_a_base_branch_that_is_no_branch_name_is_refused_before_git_sees_it(
    worker_repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    branch: str,
) -> None:
    monkeypatch.chdir(worker_repo)
    code, _, err = run(capsys, "add", "t1", "--title", "x", "--base", branch)
    assert code == 2 and "is not a branch name" in err
    # .worker.toml comes with pull requests too.
    (worker_repo / ".worker.toml").write_text(f"integration_branch = {branch!r}\n")
    code, _, err = run(capsys, "add", "t2", "--title", "x")
    assert code == 6 and "integration_branch" in err and "is not a branch name" in err
    assert not (worker_repo / "PWNED").exists()


@pytest.mark.parametrize("bad", ["ends.", "a.lock", "x/y", "a..b", ".x", "-x"])
def test_task_ids_that_make_a_bad_branch_name_are_refused_at_add(
    worker_repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bad: str,
) -> None:
    monkeypatch.chdir(worker_repo)
    code, _, err = run(capsys, "add", "--title", "t", "--", bad)
    assert code == 2 and "invalid task id" in err


def _git_accepts(task_id: str) -> bool:
    proc = subprocess.run(
        ["git", "check-ref-format", f"refs/heads/worker/{task_id}"], capture_output=True
    )
    return proc.returncode == 0


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab._-@/", min_size=1, max_size=8))
def test_every_accepted_task_id_is_a_branch_name_git_accepts(task_id: str) -> None:
    try:
        validate_task_id(task_id)
    except InvalidTaskIdError:
        return
    assert _git_accepts(task_id), task_id


def test_an_id_ending_in_a_dot_is_refused_like_git_refuses_the_branch() -> None:
    assert not _git_accepts("ends.")
    with pytest.raises(InvalidTaskIdError):
        validate_task_id("ends.")
    assert validate_task_id("v1.2") == "v1.2"
