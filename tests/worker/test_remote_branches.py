"""Several hosts sharing one git remote (`remote` in .worker.toml): task branches pushed as
agents commit, never forced; a task resumed on another host from the pushed branch; review
and merge from the supervisor's clone, the integration branch pushed with a lease.

Hosts are clones of one real bare repository on this machine. They share one store: on the
PostgreSQL pass the test's database (each clone gets the first one's claim); on SQLite the
store file is handed over from one clone to the next. A host that "dies" or is "elsewhere"
has its folder moved away, so nothing of it is reachable by path.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import (
    add,
    agent_command,
    git,
    on_postgresql,
    processes_gone,
    stop_everything,
    wait_for,
    wait_state,
    write_config,
)

from ai_skills.install.source_git import SourceError, git_command
from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext, find_repo
from ai_skills.worker.errors import BranchDivergedError, ConfigError
from ai_skills.worker.ops.reconcile import reconcile
from ai_skills.worker.ops.status import task_statuses
from ai_skills.worker.ops.status_text import status_lines
from ai_skills.worker.run import remote_branch
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.store import Db, open_store
from ai_skills.worker.store.opening import REPOSITORY_ID
from ai_skills.worker.tasks import get_task

GATES = """
[gates]
timeout_seconds = 30
test = "test -f README.md"
"""


class Hosts:
    """A bare remote, the supervisor's clone (`main`) and any number of host clones."""

    def __init__(self, tmp_path: Path, seed: Path) -> None:
        self.tmp = tmp_path
        self.remote = tmp_path / "remote.git"
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(self.remote))
        write_config(seed, extra='remote = "origin"\nsandbox = "none"\n' + GATES)
        git(seed, "remote", "add", "origin", str(self.remote))
        git(seed, "push", "-q", "origin", "main")
        self.main = seed
        self.conns: list[Db] = []

    def clone(self, name: str) -> Path:
        """A new host: a clone of the remote in a folder of its own."""
        path = self.tmp / name / "repo"
        path.parent.mkdir()
        git(self.tmp, "clone", "-q", str(self.remote), str(path))
        return path

    def open(self, repo: Path, *, after: RepoContext | None = None) -> tuple[RepoContext, Db]:
        """The store as `repo` sees it; `after`: the host that used it until now."""
        ctx = find_repo(repo)
        if after is not None:
            ctx.worker_dir.mkdir(parents=True, exist_ok=True)
            if on_postgresql():  # one database: this clone takes the first one's claim
                shutil.copy(after.worker_dir / REPOSITORY_ID, ctx.worker_dir / REPOSITORY_ID)
            else:  # one file per clone: hand the store over
                with sqlite3.connect(after.db_path) as src, sqlite3.connect(ctx.db_path) as dst:
                    src.backup(dst)
        conn = open_store(ctx)
        self.conns.append(conn)
        return ctx, conn

    def away(self, repo: Path) -> None:
        """The host is gone (or on another machine): nothing of it is reachable by path."""
        folder = repo.parent
        folder.rename(folder.with_name(folder.name + "-gone"))

    def on_remote(self, branch: str) -> str | None:
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.remote, capture_output=True, text=True,
        )
        return proc.stdout.strip() or None


@pytest.fixture
def hosts(tmp_path: Path, git_repo: Path) -> Iterator[Hosts]:
    world = Hosts(tmp_path, git_repo)
    yield world
    for conn in world.conns:
        stop_everything(conn)
        conn.close()


def events(conn: Db, task_id: str, kind: str) -> list[dict[str, object]]:
    rows = conn.rows("SELECT data FROM events WHERE task_id = ? AND kind = ? ORDER BY seq",
                     (task_id, kind))
    return [json.loads(row["data"]) for row in rows]


def head(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", ref)


def worker_cli(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The real `worker` program, run in `repo`."""
    return subprocess.run(
        [sys.executable, "-m", "ai_skills.cli.worker_entry", *argv],
        cwd=repo, capture_output=True, text=True, env=os.environ.copy(), timeout=300,
    )


def run_to_end(ctx: RepoContext, conn: Db, task_id: str, mode: str, *extra: str,
               state: str = "in_review") -> None:
    """Add a task whose scripted agent runs `mode`, start it, wait for `state` and its end."""
    add(conn, task_id, runtime_command=shlex.split(agent_command(mode, *extra)))
    assert start_task(ctx, conn, load_config(ctx.config_path), task_id).admitted
    wait_state(conn, task_id, state)
    wait_for(lambda: processes_gone(conn, task_id), what=f"the agent of {task_id} to exit")


def test_the_branch_reaches_the_remote_as_the_agent_commits(hosts: Hosts) -> None:
    host = hosts.clone("host-a")
    ctx, conn = hosts.open(host)
    add(conn, "t1", runtime_command=shlex.split(agent_command("hang")))
    assert start_task(ctx, conn, load_config(ctx.config_path), "t1").admitted
    base = head(host, "main")

    def pushed_commit() -> bool:
        sha = hosts.on_remote("worker/t1")
        return sha is not None and sha != base

    # The agent commits, then sleeps: the push comes from the supervisor, not the agent's end.
    wait_for(pushed_commit, what="the agent's commit on the remote")
    sha = hosts.on_remote("worker/t1")
    assert sha == head(host, "refs/heads/worker/t1")
    assert git(hosts.remote, "log", "-1", "--format=%s", sha) == "agent work for t1"
    assert get_task(conn, "t1").state.value == "running"
    # The supervisor records the push once git push returned: the remote can have it first.
    wait_for(lambda: any(e["local"] == sha for e in events(conn, "t1", "branch_pushed")),
             what="the branch_pushed event of the agent's commit")
    assert events(conn, "t1", "push_rejected") == []


def _held_agent(hosts: Hosts, mode: str) -> tuple[Path, RepoContext, Db, Path]:
    """t1 started on a host with an agent that waits for the file `release` (`mode`), once
    the supervisor's first push (of the base commit) landed."""
    host = hosts.clone("host-a")
    ctx, conn = hosts.open(host)
    release = Path(os.environ["HOME"]) / "release"
    add(conn, "t1", runtime_command=shlex.split(agent_command(mode, "--release", str(release))))
    assert start_task(ctx, conn, load_config(ctx.config_path), "t1").admitted
    wait_for(lambda: bool(events(conn, "t1", "branch_pushed")), what="the first push")
    return host, ctx, conn, release


def test_a_push_that_fails_is_tried_again_at_the_next_beat(hosts: Hosts) -> None:
    host, ctx, conn, release = _held_agent(hosts, "commit-between")
    hidden = hosts.remote.with_name("remote-unreachable.git")
    hosts.remote.rename(hidden)  # the network is down
    release.write_text("go\n")  # the agent commits, then waits
    wait_for(lambda: git(host, "log", "-1", "--format=%s", "refs/heads/worker/t1")
             == "agent work for t1", what="the agent's commit fetched back")
    sha = head(host, "refs/heads/worker/t1")
    wait_for(lambda: any(e["local"] == sha for e in events(conn, "t1", "push_failed")),
             what="a failed push of the commit")
    hidden.rename(hosts.remote)  # back: a later beat pushes it, while the agent still runs
    wait_for(lambda: hosts.on_remote("worker/t1") == sha, what="the commit pushed after all")
    assert get_task(conn, "t1").state.value == "running"
    assert len([e for e in events(conn, "t1", "push_failed") if e["local"] == sha]) == 1
    Path(str(release) + ".then").write_text("go\n")
    wait_state(conn, "t1", "in_review")


def test_a_push_that_failed_after_the_agent_ended_is_done_by_reconcile_fix(
    hosts: Hosts,
) -> None:
    host, ctx, conn, release = _held_agent(hosts, "wait-file")
    hidden = hosts.remote.with_name("remote-unreachable.git")
    hosts.remote.rename(hidden)
    release.write_text("go\n")  # the agent commits, reports done and exits
    wait_state(conn, "t1", "in_review")
    wait_for(lambda: processes_gone(conn, "t1"), what="the agent to exit")
    sha = head(host, "refs/heads/worker/t1")
    assert any(e["local"] == sha for e in events(conn, "t1", "push_failed"))
    config = load_config(ctx.config_path)
    unreachable = [f.kind for f in reconcile(ctx, conn, config, fix=False)]
    assert unreachable == ["remote_unreachable"]
    hidden.rename(hosts.remote)
    found = [f for f in reconcile(ctx, conn, config, fix=False) if f.task_id == "t1"]
    assert [f.kind for f in found] == ["unpushed_commits"] and found[0].fix
    fixed = worker_cli(host, "reconcile", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert hosts.on_remote("worker/t1") == sha
    assert reconcile(ctx, conn, config, fix=False) == []


@pytest.mark.slow
def test_a_push_the_remote_rejects_is_recorded_never_forced_and_named(hosts: Hosts) -> None:
    host, ctx, conn, release = _held_agent(hosts, "wait-file")
    # Another host pushes to worker/t1 meanwhile (say, it took the task over).
    other = hosts.clone("host-b")
    git(other, "fetch", "-q", "origin", "worker/t1")
    git(other, "checkout", "-q", "-b", "worker/t1", "FETCH_HEAD")
    (other / "other.txt").write_text("the other host's work\n")
    git(other, "add", "other.txt")
    git(other, "commit", "-q", "-m", "other host")
    git(other, "push", "-q", "origin", "worker/t1")
    theirs = head(other, "HEAD")
    release.write_text("go\n")
    wait_state(conn, "t1", "in_review")
    wait_for(lambda: processes_gone(conn, "t1"), what="the agent to exit")

    ours = head(host, "refs/heads/worker/t1")
    assert hosts.on_remote("worker/t1") == theirs  # not forced over
    rejected = events(conn, "t1", "push_rejected")
    assert len(rejected) == 1  # once, though every later beat and the final push tried again
    assert rejected[0]["local"] == ours and rejected[0]["remote_sha"] == theirs
    # The commit stays here and in the clone.
    clone = Path(get_task(conn, "t1").worktree or "")
    assert git(clone, "rev-parse", "HEAD") == ours
    assert git(host, "log", "-1", "--format=%s", ours) == "agent work for t1"
    # status says so, reconcile names the commit.
    lines = status_lines(task_statuses(ctx, conn, "t1"), detailed=False)
    assert any("push to origin rejected" in line and theirs[:12] in line for line in lines)
    found = [f for f in reconcile(ctx, conn, load_config(ctx.config_path), fix=False)
             if f.kind == "unpushed_commits"]
    assert [f.task_id for f in found] == ["t1"]
    assert "1 commit(s) that origin lacks" in found[0].detail
    assert theirs[:12] in found[0].detail
    code = worker_cli(host, "reconcile")
    assert code.returncode == 7 and "unpushed_commits" in code.stdout


@pytest.mark.slow
def test_a_task_resumed_on_another_host_keeps_the_first_attempts_commits(hosts: Hosts) -> None:
    first = hosts.clone("host-a")
    ctx_a, conn_a = hosts.open(first)
    # The agent commits and exits without reporting: the task stalls, its commit pushed.
    run_to_end(ctx_a, conn_a, "t1", "silent", state="stalled")
    one = head(first, "refs/heads/worker/t1")
    wait_for(lambda: hosts.on_remote("worker/t1") == one, what="attempt 1's commit pushed")
    second = hosts.clone("host-b")
    assert not git(second, "branch", "--list", "worker/t1")
    ctx_b, conn_b = hosts.open(second, after=ctx_a)
    hosts.away(first)  # the host dies; its clone is out of reach
    result = start_task(ctx_b, conn_b, load_config(ctx_b.config_path), "t1",
                        runtime_command=agent_command("done"))
    assert result.admitted and result.attempt == 2
    wait_state(conn_b, "t1", "in_review")
    wait_for(lambda: processes_gone(conn_b, "t1"), what="attempt 2's agent to exit")

    two = head(second, "refs/heads/worker/t1")
    assert two != one
    git(second, "merge-base", "--is-ancestor", one, two)  # attempt 1's commit is kept
    subjects = git(second, "log", "--format=%s", f"main..{two}").splitlines()
    assert subjects == ["agent work for t1", "agent work for t1"]
    wait_for(lambda: hosts.on_remote("worker/t1") == two, what="attempt 2's commit pushed")
    taken = events(conn_b, "t1", "branch_taken_up")
    assert taken and taken[0]["sha"] == one and taken[0]["before"] is None


def test_a_start_refuses_when_here_and_the_remote_each_have_commits(hosts: Hosts) -> None:
    host = hosts.clone("host-a")
    ctx, conn = hosts.open(host)
    add(conn, "t1", runtime_command=shlex.split(agent_command("done")))
    # Here: one commit on worker/t1; on the remote: another one, neither has the other's.
    git(host, "checkout", "-q", "-b", "worker/t1")
    (host / "here.txt").write_text("here\n")
    git(host, "add", "here.txt")
    git(host, "commit", "-q", "-m", "here")
    git(host, "checkout", "-q", "main")
    other = hosts.clone("host-b")
    git(other, "checkout", "-q", "-b", "worker/t1")
    (other / "there.txt").write_text("there\n")
    git(other, "add", "there.txt")
    git(other, "commit", "-q", "-m", "there")
    git(other, "push", "-q", "origin", "worker/t1")
    ours, theirs = head(host, "worker/t1"), head(other, "worker/t1")

    with pytest.raises(BranchDivergedError) as refused:
        start_task(ctx, conn, load_config(ctx.config_path), "t1")
    assert ours[:12] in str(refused.value) and theirs[:12] in str(refused.value)
    assert "neither is dropped" in str(refused.value)
    assert head(host, "worker/t1") == ours and hosts.on_remote("worker/t1") == theirs
    # A person decides (a daemon would otherwise try again at every tick).
    task = get_task(conn, "t1")
    assert task.state.value == "needs_human" and "--request-changes --human" in task.reason
    assert not (host.parent / "repo.worktrees" / "t1").exists()
    # Once joined and pushed, a change request restarts it from the joined branch.
    git(host, "checkout", "-q", "worker/t1")
    git(host, "pull", "-q", "--no-rebase", "origin", "worker/t1")
    git(host, "push", "-q", "origin", "worker/t1")
    git(host, "checkout", "-q", "main")
    joined = head(host, "worker/t1")
    restarted = worker_cli(host, "review", "t1", "--request-changes", "--human",
                           "--reason", "joined by hand; carry on")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    wait_state(conn, "t1", "in_review")
    git(host, "merge-base", "--is-ancestor", joined, "worker/t1")


def _task_from_host(hosts: Hosts) -> tuple[RepoContext, Db, str]:
    """t1 run to review on a host that is then out of reach; the supervisor's view."""
    host = hosts.clone("host-a")
    ctx_a, conn_a = hosts.open(host)
    run_to_end(ctx_a, conn_a, "t1", "done")
    sha = head(host, "refs/heads/worker/t1")
    wait_for(lambda: hosts.on_remote("worker/t1") == sha, what="the task's commit pushed")
    ctx, conn = hosts.open(hosts.main, after=ctx_a)
    hosts.away(host)
    assert not git(hosts.main, "branch", "--list", "worker/t1")
    return ctx, conn, sha


@pytest.mark.slow
def test_review_and_merge_from_the_supervisors_clone_push_main_with_a_lease(
    hosts: Hosts,
) -> None:
    ctx, conn, sha = _task_from_host(hosts)
    before = head(hosts.main, "main")
    gate = worker_cli(hosts.main, "gate", "t1")  # in a temporary worktree: no clone here
    assert gate.returncode == 0, gate.stderr
    assert head(hosts.main, "refs/heads/worker/t1") == sha  # fetched from the remote
    review = worker_cli(hosts.main, "review", "t1")
    assert review.returncode == 0 and "agent work for t1" in review.stdout
    approve = worker_cli(hosts.main, "review", "t1", "--approve", "--sha", sha)
    assert approve.returncode == 0, approve.stderr
    merge = worker_cli(hosts.main, "merge", "t1")
    assert merge.returncode == 0, merge.stdout + merge.stderr

    merged = head(hosts.main, "main")
    assert hosts.on_remote("main") == merged
    assert git(hosts.main, "rev-parse", f"{merged}^1") == before
    assert git(hosts.main, "rev-parse", f"{merged}^2") == sha
    pushed = events(conn, "t1", "integration_pushed")
    assert pushed == [{"remote": "origin", "branch": "main", "sha": merged, "lease": before}]
    assert hosts.on_remote("worker/t1") is None  # deleted there too
    assert get_task(conn, "t1").state.value == "merged"


@pytest.mark.slow
def test_a_merge_never_overwrites_a_remote_main_that_moved(hosts: Hosts) -> None:
    ctx, conn, sha = _task_from_host(hosts)
    assert worker_cli(hosts.main, "gate", "t1").returncode == 0
    assert worker_cli(hosts.main, "review", "t1", "--approve").returncode == 0
    # Someone pushes to main before the merge.
    other = hosts.clone("elsewhere")
    (other / "elsewhere.txt").write_text("pushed meanwhile\n")
    git(other, "add", "elsewhere.txt")
    git(other, "commit", "-q", "-m", "elsewhere")
    git(other, "push", "-q", "origin", "main")
    theirs = head(other, "main")
    before = head(hosts.main, "main")

    refused = worker_cli(hosts.main, "merge", "t1")
    assert refused.returncode == 4
    assert "lacks commits of origin's main" in refused.stderr and theirs[:12] in refused.stderr
    assert hosts.on_remote("main") == theirs and head(hosts.main, "main") == before
    assert get_task(conn, "t1").state.value == "approved"

    git(hosts.main, "pull", "-q", "--ff-only", "origin", "main")  # what the message says
    merge = worker_cli(hosts.main, "merge", "t1")
    assert merge.returncode == 0, merge.stdout + merge.stderr
    merged = head(hosts.main, "main")
    assert hosts.on_remote("main") == merged
    git(hosts.main, "merge-base", "--is-ancestor", theirs, merged)
    assert get_task(conn, "t1").state.value == "merged"


@pytest.mark.slow
def test_a_push_after_the_merge_moved_main_here_waits_and_resumes(hosts: Hosts) -> None:
    ctx, conn, sha = _task_from_host(hosts)
    marker = Path(os.environ["HOME"]) / "push-during-merge"
    other = hosts.tmp / "elsewhere" / "repo"  # cloned below, once main has the racing gate
    # The merge's gates run while the remote's main moves: a gate pushes from `other`.
    script = (
        f"if [ -e {shlex.quote(str(marker))} ]; then rm {shlex.quote(str(marker))}; "
        f"cd {shlex.quote(str(other))} && echo x > raced.txt && git add raced.txt && "
        "git commit -q -m raced && git push -q origin HEAD:main; fi; true"
    )
    config = hosts.main / ".worker.toml"
    config.write_text(config.read_text() + f"race = {json.dumps(script)}\n")
    git(hosts.main, "commit", "-q", "-am", "racing gate")
    git(hosts.main, "push", "-q", "origin", "main")
    assert hosts.clone("elsewhere") == other
    assert worker_cli(hosts.main, "gate", "t1").returncode == 0
    assert worker_cli(hosts.main, "review", "t1", "--approve").returncode == 0
    marker.write_text("")

    waiting = worker_cli(hosts.main, "merge", "t1")
    assert waiting.returncode == 4, waiting.stdout + waiting.stderr
    assert "not pushed yet" in waiting.stdout and "someone pushed meanwhile" in waiting.stdout
    raced = head(other, "HEAD")
    assert hosts.on_remote("main") == raced  # not overwritten
    assert get_task(conn, "t1").state.value == "merging"  # not merged until the push lands
    assert hosts.on_remote("worker/t1") == sha

    git(hosts.main, "pull", "-q", "--no-rebase", "origin", "main")
    resumed = worker_cli(hosts.main, "merge", "t1")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert hosts.on_remote("main") == head(hosts.main, "main")
    git(hosts.main, "merge-base", "--is-ancestor", raced, "main")
    git(hosts.main, "merge-base", "--is-ancestor", sha, "main")
    assert get_task(conn, "t1").state.value == "merged"


def test_nothing_from_the_config_the_store_or_the_remote_becomes_an_option(
    hosts: Hosts, tmp_path: Path
) -> None:
    config = hosts.main / ".worker.toml"
    for hostile in ("--upload-pack=touch x", "-x", "a b", "../x", "a/b"):
        config.write_text(f"remote = {json.dumps(hostile)}\n")
        with pytest.raises(ConfigError):
            load_config(config)
    # The one builder of these command lines refuses a forced or option-like operand.
    for kind, value in (("remote", "--upload-pack=x"), ("refspec", "+refs/heads/a:refs/heads/a"),
                        ("refspec", "refs/heads/a"), ("fetchspec", "+refs/heads/a:refs/heads/b"),
                        ("ref", "-x"), ("refspec", "refs/heads/a:--x")):
        with pytest.raises(SourceError):
            git_command("push", operands=[(kind, value)])
    # Branch names the remote lists only ever serve to look ours up.
    git(hosts.main, "push", "-q", "origin", "main:refs/heads/worker/-q")
    heads = remote_branch.remote_heads(hosts.main, "origin", prefix="worker/")
    assert set(heads) == {"worker/-q"}
    # A branch name from the store (a direct write to it) never becomes an option either.
    mark = tmp_path / "mark"
    main = head(hosts.main, "main")
    for branch in (f"--upload-pack=touch {mark}", f"--receive-pack=touch%20{mark}", "-q"):
        assert remote_branch.push_branch(hosts.main, "origin", branch).outcome == "nothing"
        # Either refused by the check before git ran, or the remote has no such branch.
        with contextlib.suppress(SourceError):
            assert remote_branch.fetch_branch(hosts.main, "origin", branch) is None
        with contextlib.suppress(SourceError):
            done = remote_branch.delete_with_lease(hosts.main, "origin", branch, expected=main)
            assert done.outcome == "up_to_date"
    assert not mark.exists()
    # A remote whose URL would run a command (ext::) is not run, nothing is pushed.
    marker = tmp_path / "ran"
    git(hosts.main, "remote", "add", "evil", f"ext::sh -c touch% {marker}")
    git(hosts.main, "branch", "worker/t1")
    done = remote_branch.push_branch(hosts.main, "evil", "worker/t1")
    assert done.outcome == "failed" and not marker.exists()
    assert remote_branch.push_branch(hosts.main, "origin", "worker/t1").outcome == "pushed"
    # A push never forces: a branch the remote has further is left alone.
    git(hosts.main, "branch", "-f", "worker/t1", "HEAD~1")
    refused = remote_branch.push_branch(hosts.main, "origin", "worker/t1")
    assert refused.outcome == "rejected" and refused.remote == head(hosts.main, "main")
    assert hosts.on_remote("worker/t1") == head(hosts.main, "main")
