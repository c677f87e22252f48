"""Events across hosts: `worker watch` wakes on PostgreSQL's NOTIFY, rides out a dropped
connection and a server restart with its cursor (nothing lost, nothing twice), and hook
runners on several "hosts" (clones sharing one database) run each hook exactly once, even
when one of them dies mid-hook.

Wake-ups are checked through `watch --trace` ("waiting (listen)", "woke (notify)"), with
`--poll 3600` where a poll would otherwise hide a missing notification: never a clock.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from worker_helpers import git, wait_for

from ai_skills.worker.context import find_repo
from ai_skills.worker.ops import hooks
from ai_skills.worker.store import Db, append_event, open_store, transaction
from ai_skills.worker.store import events as event_rows
from pg_helpers import (
    ScratchCluster,
    ScratchDatabase,
    database_url,
    find_pg_bin,
    require_psycopg,
    start_scratch_cluster,
)

psycopg = require_psycopg()

WORKER = [sys.executable, "-m", "ai_skills.cli.worker"]
NEVER = "3600"  # --poll: a watch that sees an event within a test was woken by NOTIFY


class Watcher:
    """`worker watch --follow --json --trace ...` in `repo`; its lines, read as they come."""

    def __init__(self, repo: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.proc = subprocess.Popen(
            [*WORKER, "watch", "--follow", "--json", "--trace", *args],
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def seqs(self) -> list[int]:
        return [json.loads(line)["seq"] for line in list(self.out)]

    def traced(self, what: str) -> int:
        return sum(1 for line in list(self.err) if line == f"worker: watch {what}")

    def wait_seqs(self, expected: list[int]) -> None:
        wait_for(
            lambda: len(self.seqs()) >= len(expected) or self.proc.poll() is not None,
            what=lambda: f"events {expected}; printed {self.seqs()}, stderr {self.err}",
        )
        assert self.seqs() == expected, self.err

    def wait_traced(self, what: str, count: int = 1) -> None:
        wait_for(
            lambda: self.traced(what) >= count or self.proc.poll() is not None,
            what=lambda: f"{count} x {what!r} from the watch; stderr {self.err}",
        )
        assert self.traced(what) >= count, self.err

    def interrupt(self) -> int:
        """Ctrl-C, as a user stops it; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Seen once under load (5 tests of one xdist process); say where it was stuck.
            pytest.fail(f"the watch ignored Ctrl-C for 30 s, blocked in {self._blocked_in()}; "
                        f"stderr {self.err}")
        for reader in self._readers:
            reader.join(timeout=10)
        return code

    def _blocked_in(self) -> str:
        proc = Path("/proc") / str(self.proc.pid)
        try:
            return f"{(proc / 'wchan').read_text()!r}, syscall {(proc / 'syscall').read_text()!r}"
        except OSError as error:
            return f"(unknown: {error})"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    """Watchers a test starts: killed at its end, whatever happened."""
    started: list[Watcher] = []
    yield started
    for watcher in started:
        watcher.kill()


@pytest.fixture
def pg_repo(
    worker_repo: Path, postgres_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The worker repository on this test's PostgreSQL database (both passes)."""
    monkeypatch.setenv("WORKER_STORE", postgres_db.url)
    return worker_repo


def store(repo: Path) -> Db:
    return open_store(find_repo(repo))


def transition(db: Db, task_id: str, to_state: str = "running") -> int:
    """One transition event, written as the worker writes them (its own transaction)."""
    with transaction(db):
        return append_event(db, kind="transition", task_id=task_id, from_state="queued",
                            to_state=to_state)  # fmt: skip


def test_a_new_event_wakes_the_watch_by_notification(
    pg_repo: Path, watchers: list[Watcher]
) -> None:
    watcher = Watcher(pg_repo, "--poll", NEVER)
    watchers.append(watcher)
    watcher.wait_traced("waiting (listen)")
    subprocess.run([*WORKER, "add", "t1", "--title", "one"], cwd=pg_repo, check=True)
    watcher.wait_seqs([1])
    db = store(pg_repo)
    transition(db, "t1")
    watcher.wait_seqs([1, 2])
    assert watcher.interrupt() == 0
    wakes = [line for line in watcher.err if line.startswith("worker: watch woke")]
    assert wakes[:2] == ["worker: watch woke (notify)"] * 2


@pytest.mark.sqlite_only(reason="the SQLite store's watch polls")
def test_on_sqlite_the_watch_polls(
    worker_repo: Path, watchers: list[Watcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher = Watcher(worker_repo, "--poll", "0.05")
    watchers.append(watcher)
    watcher.wait_traced("waiting (poll)")
    subprocess.run([*WORKER, "add", "t1", "--title", "one"], cwd=worker_repo, check=True)
    watcher.wait_seqs([1])
    assert watcher.interrupt() == 0
    assert "worker: watch woke (notify)" not in watcher.err
    assert "worker: watch woke (timeout)" in watcher.err


def end_connections(admin: Any, database: str, *, keep: int) -> int:
    """End every connection to `database` but the admin's and `keep`; how many ended."""
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
        (database, keep),
    ).fetchall()
    return len(rows)


def test_a_dropped_connection_loses_and_repeats_nothing(
    pg_repo: Path, postgres_db: ScratchDatabase, watchers: list[Watcher]
) -> None:
    db = store(pg_repo)
    for task_id in ("a", "b", "c"):
        transition(db, task_id)
    watcher = Watcher(pg_repo, "--name", "w", "--poll", NEVER)
    watchers.append(watcher)
    watcher.wait_seqs([1, 2, 3])
    watcher.wait_traced("waiting (listen)")
    allow = f'ALTER DATABASE "{postgres_db.name}" ALLOW_CONNECTIONS'
    server = database_url(postgres_db.url, "postgres")  # not the one it locks out
    with psycopg.connect(server, autocommit=True) as admin:
        # Cut the watch off, and keep it off while three events commit: their
        # notifications reach nobody, only its cursor can bring them.
        admin.execute(f"{allow} false".encode())
        ended = end_connections(admin, postgres_db.name, keep=db.value("SELECT pg_backend_pid()"))
        assert ended == 2  # the watch's: its reads and its LISTEN
        for task_id in ("d", "e", "f"):
            transition(db, task_id)
        assert watcher.traced("woke (reconnect)") == 0
        admin.execute(f"{allow} true".encode())
    # The watch reconnects on its own; events 4-6 come from its cursor, 7 by NOTIFY again.
    watcher.wait_traced("woke (reconnect)")
    watcher.wait_seqs([1, 2, 3, 4, 5, 6])
    transition(db, "g")
    watcher.wait_seqs([1, 2, 3, 4, 5, 6, 7])
    assert watcher.interrupt() == 0
    assert event_rows.load_cursor(db, "w") == 7
    again = subprocess.run([*WORKER, "watch", "--name", "w", "--json"], cwd=pg_repo,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert again.stdout == ""


@pytest.fixture
def own_cluster() -> Iterator[ScratchCluster]:
    """A scratch cluster for this test alone (it restarts it)."""
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL's own programs are not installed: cannot restart a server")
    cluster = start_scratch_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
def test_the_watch_resumes_after_the_server_restarts(
    worker_repo: Path,
    own_cluster: ScratchCluster,
    watchers: list[Watcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with psycopg.connect(own_cluster.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE restarted")
    monkeypatch.setenv("WORKER_STORE", database_url(own_cluster.url, "restarted"))
    db = store(worker_repo)
    transition(db, "a")
    watcher = Watcher(worker_repo, "--poll", NEVER)
    watchers.append(watcher)
    watcher.wait_seqs([1])
    watcher.wait_traced("waiting (listen)")
    db.close()
    own_cluster.restart()
    db = store(worker_repo)
    transition(db, "b")
    transition(db, "c")
    watcher.wait_traced("woke (reconnect)")
    watcher.wait_seqs([1, 2, 3])
    transition(db, "d")
    watcher.wait_seqs([1, 2, 3, 4])
    assert watcher.interrupt() == 0


# The hook: one JSON line per run, `start` before and `done` after; on "host" (its working
# folder's name) BLOCK_HOST it hangs on transition BLOCK_TASK, as a host that dies mid-hook.
HOOK = """
import json, os, sys, time
out, block_host, block_task = sys.argv[1:4]
event = json.load(sys.stdin)
host = os.path.basename(os.getcwd())
def write(what):
    with open(out, "a") as f:
        f.write(json.dumps({"what": what, "host": host, "seq": event["seq"],
                            "pid": os.getpid()}) + "\\n")
write("start")
if host == block_host and event["task_id"] == block_task:
    time.sleep(600)
write("done")
"""


def hook_lines(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


def runs(out: Path, what: str = "done") -> list[tuple[str, int]]:
    return sorted((r["host"], r["seq"]) for r in hook_lines(out) if r["what"] == what)


def two_hosts(repo: Path, tmp_path: Path, out: Path, *, block: tuple[str, str] = ("", "")) -> Path:
    """`repo` (host one) with the hook, and a clone of it (host two) on the same store."""
    script = tmp_path / "hook.py"
    script.write_text(HOOK)
    hook = [sys.executable, str(script), str(out), *block]
    with (repo / ".worker.toml").open("a") as handle:
        handle.write(f"hook_command = {json.dumps(hook)}\n")
    git(repo, "commit", "-qam", "hook")
    other = tmp_path / "host2"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    (other / ".git" / "worker").mkdir(parents=True)
    store(repo).close()  # claims the database, writes store-id
    shutil.copy(repo / ".git" / "worker" / "store-id", other / ".git" / "worker" / "store-id")
    return other


def done_cursor(db: Db) -> int:
    return event_rows.load_cursor(db, hooks.CURSOR)


@pytest.mark.slow
def test_two_hosts_run_each_hook_once_over_a_hundred_events(
    pg_repo: Path, tmp_path: Path, watchers: list[Watcher]
) -> None:
    out = tmp_path / "hooks.jsonl"
    other = two_hosts(pg_repo, tmp_path, out)
    # One host runs a daemon, the other a watch: the two kinds of hook runner.
    subprocess.run([*WORKER, "daemon", "start"], cwd=pg_repo, check=True, capture_output=True)
    try:
        watcher = Watcher(other, "--poll", NEVER)
        watchers.append(watcher)
        watcher.wait_traced("waiting (listen)")
        db = store(pg_repo)
        seqs = [transition(db, f"t{n}") for n in range(100)]
        wait_for(lambda: done_cursor(db) == seqs[-1], timeout=120,
                 what=lambda: f"the hooks to run; done up to {done_cursor(db)}")  # fmt: skip
        watcher.wait_seqs(seqs)
        assert watcher.interrupt() == 0
    finally:
        subprocess.run([*WORKER, "daemon", "stop"], cwd=pg_repo, check=True, capture_output=True)
    done = runs(out)
    assert sorted(seq for _, seq in done) == seqs  # each once, none lost
    assert runs(out, "start") == done
    log = (pg_repo / ".git" / "worker" / "daemon.log").read_text()
    assert "Traceback" not in log


def test_a_host_that_dies_mid_hook_leaves_that_hook_to_another(
    pg_repo: Path, tmp_path: Path, watchers: list[Watcher]
) -> None:
    out = tmp_path / "hooks.jsonl"
    other = two_hosts(pg_repo, tmp_path, out, block=(pg_repo.name, "b"))
    db = store(pg_repo)
    one = Watcher(pg_repo)
    watchers.append(one)
    one.wait_traced("waiting (listen)")
    first, second = transition(db, "a"), transition(db, "b")
    wait_for(lambda: (pg_repo.name, second) in runs(out, "start"), what="host one's hook on b")
    assert runs(out) == [(pg_repo.name, first)]
    # Host one dies with its hook (kill -9, as a power cut): its claim on `b` stays.
    hung = [r["pid"] for r in hook_lines(out) if r["seq"] == second]
    one.kill()
    for pid in hung:
        os.kill(pid, signal.SIGKILL)
    two = Watcher(other)
    watchers.append(two)
    two.wait_traced("waiting (listen)")
    third = transition(db, "c")
    two.wait_seqs([first, second, third])
    two.wait_traced("waiting (listen)", count=2)  # it looked for due hooks and waits again
    assert runs(out) == [(pg_repo.name, first)]  # `b` is still claimed: nobody runs it yet
    with transaction(db):  # the claim's lease runs out (moved back, not waited for)
        event_rows.set_cursor(db, hooks.LEASE, 0)
    fourth = transition(db, "d")
    wait_for(lambda: done_cursor(db) == fourth, what=lambda: f"host two's hooks: {runs(out)}")
    assert runs(out) == sorted(
        [(pg_repo.name, first), (other.name, second), (other.name, third), (other.name, fourth)]
    )
    assert two.interrupt() == 0


def test_claims_take_turns_and_a_lapsed_claim_is_run_again(conn: Db) -> None:
    """The claim rules on the store under test (SQLite and PostgreSQL): one holder, in the
    log's order; the next claim waits for it; a claim past its lease goes to the next
    runner; a finished one never comes back."""
    seqs = [transition(conn, task_id) for task_id in ("a", "b")]
    with transaction(conn):
        append_event(conn, kind="progress", task_id="a")  # not a transition: no hook
    now = 1_000_000.0
    claimed = hooks.claim_next(conn, now=now)
    assert claimed is not None and claimed.seq == seqs[0]
    assert hooks.claim_next(conn, now=now + 1) is None  # another runner: held
    lapsed = hooks.claim_next(conn, now=now + hooks.LEASE_SECONDS + 1)
    assert lapsed is not None and lapsed.seq == seqs[0]  # the holder died: run it again
    hooks.finish(conn, seqs[0])
    hooks.finish(conn, seqs[0])  # the first holder finishing late changes nothing
    later = now + hooks.LEASE_SECONDS + 2
    following = hooks.claim_next(conn, now=later)
    assert following is not None and following.seq == seqs[1]
    hooks.finish(conn, seqs[1])
    assert hooks.claim_next(conn, now=later) is None


def test_hooks_that_ran_are_not_run_again_after_a_store_error(
    conn: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook ran but its done mark could not be written: the runner writes it first on its
    next turn instead of running the hook again when the lease runs out."""
    seq = transition(conn, "a")
    out = tmp_path / "ran"
    runner = hooks.HookRunner(tmp_path)
    command = [sys.executable, "-c", f"open({str(out)!r}, 'a').write('x')"]
    real_finish = hooks.finish
    failing: list[Callable[[Db, int], None]] = []

    def finish_fails_once(db: Db, done: int) -> None:
        if not failing:
            failing.append(real_finish)
            raise ConnectionError("the store went away")
        real_finish(db, done)

    monkeypatch.setattr(hooks, "finish", finish_fails_once)
    with pytest.raises(ConnectionError):
        runner.run_due(conn, command)
    assert runner.unrecorded == seq
    assert runner.run_due(conn, command) == []
    assert done_cursor(conn) == seq
    assert out.read_text() == "x"
    with transaction(conn):
        event_rows.set_cursor(conn, hooks.LEASE, 0)
    assert hooks.HookRunner(tmp_path).run_due(conn, command) == []
    assert out.read_text() == "x"
