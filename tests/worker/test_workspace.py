"""Where a task's agent works, what it finds there, and what its environment and prompt say."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    agent_command,
    git,
    processes_gone,
    wait_for,
    wait_state,
    write_config,
)

from ai_skills.deploy.use_skills import EXCLUDE_BEGIN, sync_repo
from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import WorktreeError
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.run.cancel import CancelOptions, cancel_task
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.launch_steps import launch_attempt
from ai_skills.worker.tasks import get_attempt, get_task


def _start(ctx: RepoContext, conn: sqlite3.Connection, task_id: str = "t1", **kw: str) -> Path:
    result = start_task(ctx, conn, load_config(ctx.config_path), task_id, **kw)
    assert result.admitted and result.worktree, result.reason
    return Path(result.worktree)


def test_worktrees_live_beside_the_repo_outside_any_git_folder(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    """Claude Code refuses shell commands whose working folder is inside `.git`."""
    add(conn, "t1")
    worktree = _start(ctx, conn)
    assert worktree == worker_repo.parent / "repo.worktrees" / "t1"
    assert ".git" not in worktree.parts
    wait_state(conn, "t1", "in_review")


def test_a_worktree_left_at_the_old_default_moves_with_its_files_on_the_next_start(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    old_config = (worker_repo / ".worker.toml").read_text()
    write_config(worker_repo, command=agent_command("needs-input"))
    (worker_repo / ".worker.toml").write_text(
        (worker_repo / ".worker.toml").read_text() + 'worktree_dir = ".git/worker/worktrees"\n'
    )
    git(worker_repo, "commit", "-qam", "old default")
    add(conn, "t1")
    old = _start(ctx, conn)
    assert old == ctx.common_dir / "worker" / "worktrees" / "t1"
    wait_state(conn, "t1", "needs_input")
    attempt = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert attempt is not None
    wait_for_exit(conn, attempt.id)
    (old / "notes.txt").write_text("not committed yet\n")
    (worker_repo / ".worker.toml").write_text(old_config)
    git(worker_repo, "commit", "-qam", "new default")

    new = _start(ctx, conn, message="go on")

    assert new == worker_repo.parent / "repo.worktrees" / "t1" and not old.exists()
    wait_state(conn, "t1", "in_review")
    assert (new / "notes.txt").read_text() == "not committed yet\n"
    moved = [e for e in read_events(conn, task_id="t1") if e.kind == "worktree_moved"]
    assert [(e.data["from"], e.data["to"]) for e in moved] == [(str(old), str(new))]
    assert get_task(conn, "t1").worktree == str(new)


def wait_for_exit(conn: sqlite3.Connection, attempt_id: int) -> None:
    """Until the attempt's agent and supervisor are both gone."""
    attempt = get_attempt(conn, attempt_id)
    assert attempt is not None
    wait_for(lambda: processes_gone(conn, attempt.task_id), what="the attempt to exit")


def test_the_repo_skills_are_linked_into_the_worktree_and_git_ignores_them(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    (worker_repo / ".skills").write_text("review-gate\n")
    git(worker_repo, "add", ".skills")
    git(worker_repo, "commit", "-qm", "skills")
    main_sync = sync_repo(worker_repo, dict(os.environ))
    assert not main_sync.errors
    exclude = ctx.common_dir / "info" / "exclude"
    main_block = exclude.read_text()
    add(conn, "t1")
    worktree = _start(ctx, conn)

    for folder in (".claude/skills", ".opencode/skills", ".agents/skills"):
        link = worktree / folder / "review-gate"
        assert link.is_symlink() and (link / "SKILL.md").is_file(), link
    wait_state(conn, "t1", "in_review")
    assert git(worktree, "status", "--porcelain", "--untracked-files=all") == ""
    # An agent's `git add -A` would take none of them.
    assert git(worktree, "add", "-A", "--dry-run") == ""
    assert exclude.read_text() == main_block, "the clone has an exclude file of its own"
    assert (worktree / ".git" / "info" / "exclude").read_text().count(EXCLUDE_BEGIN) == 1
    assert git(worker_repo, "status", "--porcelain") == ""
    linked = [e for e in read_events(conn, task_id="t1") if e.kind == "skills_linked"]
    assert linked and ".claude/skills/review-gate" in linked[0].data["linked"]


def test_the_agent_runs_with_pwd_set_to_its_worktree(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenCode works in $PWD: the PWD of the shell that ran `start` put it on main."""
    show = [sys.executable, "-c", "import os; print('PWD=' + os.environ['PWD'])"]
    write_config(worker_repo, command=shlex.join(show))
    monkeypatch.setenv("PWD", str(worker_repo))
    add(conn, "t1")
    worktree = _start(ctx, conn)
    attempt = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert attempt is not None
    wait_for_exit(conn, attempt.id)
    assert f"PWD={worktree}" in Path(attempt.log_file).read_text()


def test_the_prompt_names_worker_by_absolute_path_and_the_task_attempt_number(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    """Codex's login shell resets PATH: a bare `worker` is "command not found" there."""
    add(conn, "t1")
    _start(ctx, conn)
    attempt = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert attempt is not None and attempt.prompt_file
    prompt = Path(attempt.prompt_file).read_text()
    program = Path(sys.executable).parent / "worker"
    assert f"`{program} report --status done" in prompt
    assert "attempt 1" in prompt
    wait_state(conn, "t1", "in_review")


def test_a_linked_worktree_from_before_clones_becomes_a_clone_with_its_work(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_config(worker_repo, command=agent_command("needs-input"))
    add(conn, "t1")
    path = _start(ctx, conn)
    wait_state(conn, "t1", "needs_input")
    attempt = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert attempt is not None
    wait_for_exit(conn, attempt.id)
    # What an earlier worker left: a linked worktree on the task branch, work in progress.
    import shutil

    shutil.rmtree(path)
    git(worker_repo, "worktree", "add", "-q", str(path), "worker/t1")
    (path / ".gitignore").write_text("*.log\n")
    (path / "staged.txt").write_text("staged\n")
    git(path, "add", "staged.txt")
    (path / "README.md").write_text("edited, not staged\n")
    (path / "untracked.txt").write_text("new\n")
    (path / "build.log").write_text("ignored\n")
    write_config(worker_repo, command=agent_command("silent"))

    assert _start(ctx, conn, message="go on") == path
    wait_state(conn, "t1", "stalled")  # `silent`: commits everything, exits without a report

    assert (path / ".git").is_dir() and not (path / ".git").is_symlink()
    assert (path / "build.log").read_text() == "ignored\n"
    assert git(worker_repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    files = git(worker_repo, "ls-tree", "--name-only", "worker/t1").split()
    assert {"staged.txt", "untracked.txt", ".gitignore"} <= set(files)
    assert git(worker_repo, "show", "worker/t1:README.md") == "edited, not staged"
    kinds = [e.kind for e in read_events(conn, task_id="t1")]
    assert "workspace_converted" in kinds


def test_reconcile_names_a_folder_among_the_workspaces_that_no_task_owns(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    from ai_skills.worker.ops.reconcile import reconcile

    add(conn, "t1")
    (worker_repo.parent / f"{worker_repo.name}.worktrees" / "ghost").mkdir(parents=True)
    (worker_repo.parent / f"{worker_repo.name}.worktrees" / "t1").mkdir()
    found = [f for f in reconcile(ctx, conn, load_config(ctx.config_path), fix=False)
             if f.kind == "orphan_worktree"]
    assert len(found) == 1 and "ghost" in found[0].detail


def clone_in_the_way(worker_repo: Path, tmp_path: Path, *, left_by: str) -> tuple[Path, str]:
    """A clone that is not task t1's, at t1's path, with an uncommitted file; it and its HEAD."""
    path = worker_repo.parent / "repo.worktrees" / "t1"
    if left_by == "a deleted repository":
        git(tmp_path, "clone", "-q", "--shared", str(worker_repo), str(path))
    else:
        other = tmp_path / "other"
        other.mkdir()
        git(other, "init", "-q", "-b", "main")
        git(other, "commit", "-q", "--allow-empty", "-m", "theirs")
        git(tmp_path, "clone", "-q", str(other), str(path))
    (path / "precious.txt").write_text("mine\n")
    return path, git(path, "rev-parse", "HEAD")


@pytest.mark.parametrize("left_by", ["a deleted repository", "another project"])
def test_a_clone_that_is_not_the_tasks_own_is_refused_and_left_as_it_is(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path,
    left_by: str,
) -> None:
    """A repository deleted and made again at the same path leaves its workspaces behind
    (`repo.worktrees/t1`, a clone whose origin is this very path); a user may keep an
    unrelated clone there. Adopted, the agent would work in it and a merge remove it."""
    path, head = clone_in_the_way(worker_repo, tmp_path, left_by=left_by)
    add(conn, "t1")
    with pytest.raises(WorktreeError, match="is not a workspace of this task; move it away"):
        start_task(ctx, conn, load_config(ctx.config_path), "t1")
    assert (path / "precious.txt").read_text() == "mine\n"
    assert git(path, "rev-parse", "HEAD") == head
    assert get_task(conn, "t1").state.value == "queued"  # back in the queue, with the reason
    assert "move it away" in get_task(conn, "t1").reason
    # Started again, the refused attempt does not make the folder the task's (it had been
    # adopted: the store named it as the earlier attempt's workspace).
    with pytest.raises(WorktreeError, match="is not a workspace of this task; move it away"):
        start_task(ctx, conn, load_config(ctx.config_path), "t1")


def test_cancelling_a_task_whose_start_was_refused_leaves_the_folder_in_its_way(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    """The task's record still names the folder that refused its start; cancel --cleanup
    had committed the user's files in it and then removed it."""
    path, head = clone_in_the_way(worker_repo, tmp_path, left_by="another project")
    add(conn, "t1")
    with pytest.raises(WorktreeError, match="is not a workspace of this task; move it away"):
        start_task(ctx, conn, load_config(ctx.config_path), "t1")
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="not wanted", cleanup=True))
    assert not result.worktree_removed and result.saved_commit is None
    assert any("left as it is: it is not a workspace of this task" in n for n in result.notes)
    assert (path / "precious.txt").read_text() == "mine\n"
    assert git(path, "rev-parse", "HEAD") == head
    assert git(path, "status", "--porcelain") == "?? precious.txt"
    assert get_task(conn, "t1").worktree_removed  # the task has no workspace there
    assert [e.data for e in read_events(conn, task_id="t1") if e.kind == "worktree_disowned"] \
        == [{"path": str(path)}]


def test_a_clone_made_before_the_repo_had_an_identity_gets_it_on_the_next_start(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    """Without it every commit of the next attempts fails ("Please tell me who you are")
    where no global identity exists; one the agent set in its clone stays its own."""
    write_config(worker_repo, command=agent_command("needs-input"))
    git(worker_repo, "commit", "-qam", "agent asks", "--allow-empty")
    for key in ("user.name", "user.email"):
        _git_status(worker_repo, "config", "--local", "--unset-all", key)
    add(conn, "t1")
    clone = _start(ctx, conn)
    wait_state(conn, "t1", "needs_input")
    wait_for_exit(conn, get_task(conn, "t1").current_attempt or 0)
    assert _git_status(clone, "config", "--local", "--get-regexp", "^user\\.") == 1  # none
    git(worker_repo, "config", "--local", "user.name", "Repo Owner")
    git(worker_repo, "config", "--local", "user.email", "owner@example.org")
    git(clone, "config", "--local", "user.name", "The Agent")  # the agent's own choice

    _start(ctx, conn, message="go on")

    assert git(clone, "config", "--local", "user.email") == "owner@example.org"
    assert git(clone, "config", "--local", "user.name") == "The Agent"
    filled = [e.data for e in read_events(conn, task_id="t1") if e.kind == "identity_filled"]
    assert filled == [{"path": str(clone), "keys": ["user.email"]}]


def _git_status(cwd: Path, *args: str) -> int:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True).returncode


def test_a_linked_worktree_of_another_branch_at_the_tasks_path_is_refused(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    """A user's own worktree of this repository (`git worktree add ../repo.worktrees/fix -b
    fix`) where task `fix` would work: converting it made their files and commits the
    task's, its branch dropped from it."""
    path = worker_repo.parent / "repo.worktrees" / "t1"
    git(worker_repo, "worktree", "add", "-q", "-b", "mine", str(path))
    (path / "precious.txt").write_text("mine\n")
    add(conn, "t1")
    with pytest.raises(WorktreeError, match="not a workspace of this task; move it away"):
        start_task(ctx, conn, load_config(ctx.config_path), "t1")
    assert (path / ".git").is_file()  # still a linked worktree, on its own branch
    assert git(path, "branch", "--show-current") == "mine"
    assert git(path, "status", "--porcelain") == "?? precious.txt"
    assert git(worker_repo, "rev-parse", "refs/heads/mine") == git(worker_repo, "rev-parse", "main")
    # Nor is it committed in or removed when the task is cancelled.
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="not wanted", cleanup=True))
    assert not result.worktree_removed and result.saved_commit is None
    assert git(path, "status", "--porcelain") == "?? precious.txt"
    assert git(worker_repo, "rev-parse", "refs/heads/mine") == git(worker_repo, "rev-parse", "main")


def kill_the_launch_after_cloning(
    ctx: RepoContext, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start task t1 and kill its launch right after git clone has run."""
    from ai_skills.worker.run import clones

    real_run_git = clones.run_git

    def clone_then_die(args: list[str], **kwargs: object) -> object:
        done = real_run_git(args, **kwargs)  # type: ignore[arg-type]
        if "clone" in args:
            raise KeyboardInterrupt  # the start is killed here
        return done

    add(conn, "t1")
    with monkeypatch.context() as patch:
        patch.setattr(clones, "run_git", clone_then_die)
        with pytest.raises(KeyboardInterrupt):
            start_task(ctx, conn, load_config(ctx.config_path), "t1")


def test_a_launch_killed_while_cloning_resumes_instead_of_refusing_its_clone(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed once git clone had run but before the clone was recorded, a launch used to
    leave a clone at the task's path that its resume refused as somebody else's."""
    kill_the_launch_after_cloning(ctx, conn, monkeypatch)
    path = worker_repo.parent / "repo.worktrees" / "t1"
    # The interrupted start left the task running with its launch unfinished; `worker
    # reconcile --fix` resumes the launch (ops/reconcile_fix.py), which had refused.
    attempt_id = get_task(conn, "t1").current_attempt
    assert attempt_id is not None
    launch_attempt(ctx, conn, load_config(ctx.config_path), attempt_id)
    assert get_task(conn, "t1").state.value == "running", get_task(conn, "t1").reason
    assert git(path, "branch", "--show-current") == "worker/t1"
    assert not (path.parent / ".t1.clone-new").exists()


def test_cancelling_a_task_whose_launch_was_killed_while_cloning_leaves_nothing(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kill_the_launch_after_cloning(ctx, conn, monkeypatch)
    folder = worker_repo.parent / "repo.worktrees"
    assert (folder / ".t1.clone-new").is_dir()  # the clone, half made: never at its path
    result = cancel_task(ctx, conn, "t1", CancelOptions(reason="not wanted", cleanup=True))
    assert result.state == "cancelled"
    assert not folder.exists()  # the default folder goes with its last workspace
