"""Several hosts on one PostgreSQL store: labels route tasks, each host keeps its own WIP,
racing hosts run each task once, a dead host's task stalls (naming it) and another resumes it.

Hosts are simulated as clones of one bare remote, each with its own HOME, its daemon started
with the real CLI (`worker daemon start --host`), sharing one real PostgreSQL database. These
tests take that database themselves, so they run in the first (SQLite) pass of bin/test only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from worker_helpers import agent_command, git, stop_everything, wait_for

from ai_skills.worker.context import find_repo
from ai_skills.worker.process_identity import is_alive
from ai_skills.worker.store import Db, open_store, postgres, transaction
from ai_skills.worker.tasks import get_task
from pg_helpers import (
    ScratchCluster,
    ScratchDatabase,
    database_url,
    find_pg_bin,
    start_scratch_cluster,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("AI_SKILLS_TEST_STORE") == "postgresql",
    reason="takes its own PostgreSQL database in the first pass already",
)

CONFIG = """\
store = "{url}"
remote = "origin"
max_running = 3
heartbeat_seconds = 0.2
lease_seconds = 30
cancel_grace_seconds = 2
tick_seconds = 0.2
sandbox = "none"
runtime_command = {command}
"""


@dataclass
class HostClone:
    """One simulated machine: a clone of the shared remote with a HOME of its own."""

    name: str
    path: Path
    home: Path
    _conn: Db | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "XDG_"))}
        env["HOME"] = str(self.home)
        return env

    def worker(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        """The real CLI in this clone; checks the exit code unless `expect` is None."""
        proc = subprocess.run(
            [sys.executable, "-m", "ai_skills.cli.worker", *args],
            cwd=self.path, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if expect is not None:
            assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    @property
    def conn(self) -> Db:
        if self._conn is None:
            self._conn = open_store(find_repo(self.path))
        return self._conn

    def daemon_pid(self) -> int:
        data = json.loads((self.path / ".git/worker/daemon.pid").read_text())
        return int(data["pid"])


@dataclass
class Fleet:
    """The shared remote, the database, and the hosts made so far."""

    root: Path
    url: str
    remote: Path
    hosts: list[HostClone] = field(default_factory=list)

    def clone(self, name: str) -> HostClone:
        path, home = self.root / name, self.root / f"home-{name}"
        home.mkdir()
        git(self.root, "clone", "-q", str(self.remote), str(path))
        host = HostClone(name, path, home)
        self.hosts.append(host)
        return host

    def start(self, name: str, *args: str) -> HostClone:
        """A new clone whose daemon runs as host `name`."""
        host = self.clone(name)
        out = host.worker("daemon", "start", "--host", name, *args).stdout
        assert f"daemon of host {name} (" in out
        return host


def _write_config(repo: Path, url: str, command: str) -> None:
    (repo / ".worker.toml").write_text(CONFIG.format(url=url, command=json.dumps(command)))


@pytest.fixture
def fleet(tmp_path: Path, postgres_db: ScratchDatabase) -> Iterator[Fleet]:
    """A bare remote whose main holds a `.worker.toml` naming the test's database."""
    with _fleet(tmp_path, postgres_db.url) as found:
        yield found


@contextlib.contextmanager
def _fleet(tmp_path: Path, url: str) -> Iterator[Fleet]:
    seed, remote = tmp_path / "seed", tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "README.md").write_text("shared\n")
    _write_config(seed, url, agent_command("done"))
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "shared repository")
    git(seed, "push", "-q", str(remote), "main")
    found = Fleet(tmp_path, url, remote)
    try:
        yield found
    finally:
        for host in found.hosts:
            host.worker("daemon", "stop", expect=None)
        _stop_every_attempt(url)
        for host in found.hosts:
            if host._conn is not None:
                host._conn.close()


def _stop_every_attempt(url: str) -> None:
    """Leave no agent or supervisor behind: every host's run on this machine."""
    owner = postgres.database_owner(url, password_from_environment=True)
    if owner is None:
        return
    db = postgres.connect(url, repository=owner, password_from_environment=True)
    try:
        stop_everything(db)  # type: ignore[arg-type]
    finally:
        db.close()


def _attempts(conn: Db, task_id: str) -> list[tuple[int, str | None]]:
    rows = conn.rows("SELECT number, host FROM attempts WHERE task_id = ? ORDER BY number",
                     (task_id,))  # fmt: skip
    return [(int(r["number"]), r["host"]) for r in rows]


# Generous: these wait for events (a start, a report, a stall), never race a clock; a loaded
# machine (three test runs on two cores) takes its time to start daemons and agents.
PATIENCE = 180.0


def _status(host: HostClone, task_id: str) -> dict[str, object]:
    found = json.loads(host.worker("status", task_id, "--json").stdout)
    return found[0] if isinstance(found, list) else found


def _states(conn: Db) -> dict[str, str]:
    return {r["id"]: r["state"] for r in conn.rows("SELECT id, state FROM tasks")}


def _reasons(conn: Db) -> dict[str, str]:
    rows = conn.rows("SELECT id, state, reason FROM tasks ORDER BY id")
    return {r["id"]: f"{r['state']}: {r['reason']}" for r in rows}


def _running_per_host(conn: Db) -> dict[str, int]:
    rows = conn.rows(
        "SELECT host, COUNT(*) AS n FROM tasks WHERE state IN ('running', 'needs_input')"
        " GROUP BY host"
    )
    return {r["host"]: int(r["n"]) for r in rows}


def _wait_states(conn: Db, ids: list[str], state: str, timeout: float = PATIENCE) -> None:
    wait_for(
        lambda: all(_states(conn).get(i) == state for i in ids),
        timeout=timeout,
        what=lambda: f"{ids} to be {state}: {_reasons(conn)}",
    )


def _add_until_running(
    host: HostClone, ids: list[str], release: Path, running: dict[str, int]
) -> None:
    """Add tasks whose agents wait for `release`; wait until each host runs as many as
    `running` says."""
    command = agent_command("wait-file", "--release", str(release))
    for task_id in ids:
        host.worker("add", task_id, "--title", task_id, "--runtime-command", command)
    wait_for(
        lambda: _running_per_host(host.conn) == running,
        timeout=PATIENCE,
        what=lambda: f"running per host {running}: {_running_per_host(host.conn)}",
    )


def _wait_agent_started(conn: Db, task_id: str) -> int | None:
    """The id of the task's attempt, once its supervisor has recorded the agent's pid."""
    attempt_id = get_task(conn, task_id).current_attempt

    def started() -> bool:
        row = conn.row("SELECT agent_pid FROM attempts WHERE id = ?", (attempt_id,))
        return row is not None and row["agent_pid"] is not None

    wait_for(started, timeout=PATIENCE, what=f"the agent of {task_id} to start")
    return attempt_id


def _wait_hosts_live(host: HostClone, names: list[str]) -> None:
    def live() -> bool:
        found = json.loads(host.worker("hosts", "--json").stdout)
        return sorted(h["name"] for h in found if h["lease"] == "live") == sorted(names)

    wait_for(live, timeout=PATIENCE, what=f"hosts {names} to register")


def test_labels_route_tasks_to_the_host_that_has_them(fleet: Fleet) -> None:
    plain = fleet.start("plain")
    gpu = fleet.start("gpu", "--label", "gpu", "--label", "os=linux", "--max-running", "2")
    _wait_hosts_live(plain, ["plain", "gpu"])
    plain.worker("add", "train", "--title", "train", "--needs", "gpu")
    plain.worker("add", "linux", "--title", "linux", "--needs", "os=linux", "--needs", "gpu")
    plain.worker("add", "tpu", "--title", "nobody has a tpu", "--needs", "tpu")
    _wait_states(plain.conn, ["train", "linux"], "in_review")
    assert _attempts(plain.conn, "train") == [(1, "gpu")]
    assert _attempts(plain.conn, "linux") == [(1, "gpu")]
    assert get_task(plain.conn, "train").host == "gpu"
    # Nobody has the label: it waits (no host records a reason of its own).
    assert _states(plain.conn)["tpu"] == "queued" and _attempts(plain.conn, "tpu") == []
    shown = json.loads(gpu.worker("status", "tpu", "--json").stdout)
    assert shown["needs"] == ["tpu"] and shown["host"] is None
    text = gpu.worker("status").stdout
    assert "needs tpu" in text and "@gpu" in text
    # A start without a host that has the label says why it waits (exit 5).
    waiting = plain.worker("start", "tpu", expect=5)
    assert "needs label(s) tpu, which host plain does not have" in waiting.stdout
    hosts = {h["name"]: h for h in json.loads(plain.worker("hosts", "--json").stdout)}
    assert hosts["gpu"]["labels"] == ["gpu", "os=linux"] and hosts["gpu"]["max_running"] == 2
    assert hosts["plain"]["this_clone"] and not hosts["gpu"]["this_clone"]


def test_each_host_keeps_its_own_wip_limit(fleet: Fleet, tmp_path: Path) -> None:
    release = tmp_path / "release"
    one = fleet.start("one", "--max-running", "1")
    two = fleet.start("two", "--max-running", "2")
    _wait_hosts_live(one, ["one", "two"])
    ids = [f"w{n}" for n in range(5)]
    _add_until_running(one, ids, release, {"one": 1, "two": 2})
    assert sorted(_states(one.conn).values()).count("queued") == 2
    listed = {h["name"]: h["running"] for h in json.loads(two.worker("hosts", "--json").stdout)}
    assert listed == {"one": 1, "two": 2}
    release.touch()

    def done_within_limits() -> bool:
        running = _running_per_host(one.conn)
        assert running.get("one", 0) <= 1 and running.get("two", 0) <= 2, running
        return all(state == "in_review" for state in _states(one.conn).values())

    wait_for(done_within_limits, timeout=PATIENCE, what=lambda: str(_reasons(one.conn)))
    assert all(len(_attempts(one.conn, task_id)) == 1 for task_id in ids)


@pytest.mark.slow
def test_two_hosts_racing_run_every_task_exactly_once(fleet: Fleet, tmp_path: Path) -> None:
    release = tmp_path / "release"
    east = fleet.start("east")
    west = fleet.start("west")
    _wait_hosts_live(east, ["east", "west"])
    ids = [f"r{n:02d}" for n in range(16)]
    # Both fill their three slots from the one queue; then the rest go to whoever is free.
    _add_until_running(east, ids, release, {"east": 3, "west": 3})
    release.touch()
    _wait_states(west.conn, ids, "in_review", timeout=2 * PATIENCE)
    per_task = {task_id: _attempts(east.conn, task_id) for task_id in ids}
    assert all(len(runs) == 1 for runs in per_task.values()), per_task
    hosts = [runs[0][1] for runs in per_task.values()]
    assert set(hosts) == {"east", "west"}
    # Every attempt's host is the one its task names: claimed in the same transaction.
    for task_id in ids:
        assert get_task(east.conn, task_id).host == per_task[task_id][0][1]


@pytest.mark.slow
def test_a_dead_hosts_task_stalls_naming_it_and_another_host_resumes_it(
    fleet: Fleet, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    doomed = fleet.start("doomed")
    doomed.worker("add", "job", "--title", "job", "--runtime-command",
                  agent_command("wait-file", "--release", str(release)))  # fmt: skip
    _wait_states(doomed.conn, ["job"], "running")
    attempt_id = _wait_agent_started(doomed.conn, "job")
    survivor = fleet.start("survivor")
    assert _status(survivor, "job")["alive"] is True  # its supervisor renews the lease
    _wait_hosts_live(survivor, ["doomed", "survivor"])
    # Its processes are on the other machine: cancel refuses instead of checking a pid.
    refused = survivor.worker("cancel", "job", "--reason", "x", expect=4)
    assert "runs on host doomed" in refused.stderr
    row = doomed.conn.row("SELECT * FROM attempts WHERE id = ?", (attempt_id,))
    assert row is not None
    # The host's daemon and the supervisor die; its agent runs on, unsupervised.
    os.kill(doomed.daemon_pid(), signal.SIGKILL)
    os.kill(int(row["supervisor_pid"]), signal.SIGKILL)
    agent = (int(row["agent_pid"]), str(row["agent_token"]))
    assert _states(survivor.conn)["job"] == "running"
    # Nobody renews the leases now; move them back instead of waiting 30 s for them.
    with transaction(survivor.conn):
        gone = time.time() - 5
        survivor.conn.run("UPDATE hosts SET lease_until = ? WHERE name = 'doomed'", (gone,))
        survivor.conn.run("UPDATE attempts SET lease_until = ? WHERE id = ?", (gone, attempt_id))
    _wait_states(survivor.conn, ["job"], "stalled")
    reason = get_task(survivor.conn, "job").reason
    assert "host doomed stopped renewing its lease, which ran out at" in reason
    listed = {h["name"]: h["lease"] for h in json.loads(survivor.worker("hosts", "--json").stdout)}
    assert listed == {"doomed": "expired", "survivor": "live"}
    # The survivor signalled nothing (the pid is the other machine's): the agent still runs.
    assert is_alive(*agent)
    # Its status judges the other host's agent by the lease, not by a pid of this machine.
    assert _status(survivor, "job")["alive"] is False
    # The host comes back (`daemon start` remembers it): it stops the agent of the task
    # taken from it, so the task never runs on two hosts.
    assert "daemon of host doomed (" in doomed.worker("daemon", "start").stdout

    def stopped_event() -> str:
        row = survivor.conn.row(
            "SELECT data FROM events WHERE kind = 'agent_stopped' AND attempt_id = ?",
            (attempt_id,),
        )
        return "" if row is None else str(row["data"])

    # The event is written once the agent is gone: wait for it, not for the process.
    wait_for(
        lambda: bool(stopped_event()),
        timeout=PATIENCE,
        what=lambda: "host doomed to stop its leftover agent; its log: "
        + (doomed.path / ".git/worker/daemon.log").read_text()[-2000:],
    )
    assert not is_alive(*agent)
    assert "the task was stalled while host doomed ran it" in stopped_event()
    # Resuming is a decision (docs: Several hosts): `worker start` on the surviving host.
    started = survivor.worker("start", "job").stdout
    assert "running (attempt 2" in started
    # Its workspace is the other machine's: left where it is, not moved into this clone's.
    assert Path(row["worktree"]).is_dir() and str(survivor.path) in started
    assert "worktree_moved" not in [
        r["kind"] for r in survivor.conn.rows("SELECT kind FROM events WHERE task_id = 'job'")
    ]
    release.touch()
    _wait_states(survivor.conn, ["job"], "in_review")
    assert _attempts(survivor.conn, "job") == [(1, "doomed"), (2, "survivor")]


def test_a_clone_joins_with_host_and_a_foreign_repository_is_refused(fleet: Fleet) -> None:
    first = fleet.clone("first")
    first.worker("add", "a", "--title", "claims the database for this repository")
    joined = fleet.start("second")
    ours = (first.path / ".git/worker/store-id").read_text()
    assert (joined.path / ".git/worker/store-id").read_text() == ours
    # Another repository pointed at the same database keeps its own id: refused (exit 6).
    foreign = fleet.root / "foreign"
    foreign.mkdir()
    git(foreign, "init", "-q", "-b", "main")
    _write_config(foreign, fleet.url, agent_command("done"))
    git(foreign, "add", "-A")
    git(foreign, "commit", "-q", "-m", "another project")
    (foreign / ".git/worker").mkdir(parents=True)
    (foreign / ".git/worker/store-id").write_text("0123456789abcdef\n")
    stranger = HostClone("stranger", foreign, fleet.root / "home-first")
    refused = stranger.worker("daemon", "start", "--host", "stranger", expect=6)
    assert "belongs to another repository" in refused.stderr
    assert not (foreign / ".git/worker/daemon.pid").exists()
    assert not (foreign / ".git/worker/host").exists()


def test_a_host_needs_a_shared_postgresql_store(fleet: Fleet) -> None:
    host = fleet.clone("lonely")
    (host.path / ".worker.toml").write_text(f"runtime_command = {json.dumps(agent_command())}\n")
    refused = host.worker("daemon", "start", "--host", "lonely", expect=6)
    assert "cannot be shared between machines" in refused.stderr
    assert not (host.path / ".git/worker/host").exists()
    usage = host.worker("daemon", "start", "--label", "gpu", expect=2)
    assert "give --host NAME too" in usage.stderr


HOSTILE_NEEDS = (
    ["--needs=-gpu"],
    ["--needs", "x" * 100_000],
    ["--needs", "a=b=c"],
    ["--needs", "gpu;rm -rf"],
    ["--needs", "os=", "--needs", "ok"],
    ["--needs", "é"],
    ["--needs", "gpu\n--host"],
)


def test_hostile_labels_are_refused(fleet: Fleet) -> None:
    host = fleet.clone("h")
    for args in HOSTILE_NEEDS:
        proc = host.worker("add", "t", "--title", "t", *args, expect=2)
        assert "is not a label" in proc.stderr and len(proc.stderr) < 600, proc.stderr
        assert "x" * 100 not in proc.stderr
    assert host.conn.value("SELECT COUNT(*) FROM tasks") == 0


def test_non_utf8_labels_and_host_names_are_refused(fleet: Fleet) -> None:
    host = fleet.clone("h")
    bad = os.fsdecode(b"gpu\xe9")
    proc = host.worker("add", "t", "--title", "t", "--needs", bad, expect=2)
    assert "not UTF-8 text (byte 0xe9)" in proc.stderr
    for args in (["--host", bad], ["--host", "-x"], ["--host", "ok", "--label", "a b"]):
        refused = host.worker("daemon", "start", *args, expect=2)
        assert "not UTF-8" in refused.stderr or "is not a" in refused.stderr, refused.stderr
    assert not (host.path / ".git/worker/host").exists()


@pytest.mark.slow
# "launch": the server restarts as soon as the task runs, while the daemon makes its clone
# and starts the supervisor, or while the supervisor prepares the agent; "agent": once the
# agent runs. Either way the task goes on in the same attempt.
@pytest.mark.parametrize("restart_during", ["launch", "agent"])
def test_a_host_rides_out_a_postgresql_restart_in_the_middle_of_a_task(
    tmp_path: Path, restart_during: str
) -> None:
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL's own programs are not installed: cannot restart a server")
    import psycopg

    cluster: ScratchCluster = start_scratch_cluster()
    try:
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE restarted")
        release = tmp_path / "release"
        with _fleet(tmp_path, database_url(cluster.url, "restarted")) as fleet:
            box = fleet.start("box")
            box.worker("add", "job", "--title", "job", "--runtime-command",
                       agent_command("wait-file", "--release", str(release)))  # fmt: skip
            _wait_states(box.conn, ["job"], "running")
            if restart_during == "agent":
                _wait_agent_started(box.conn, "job")
            box.conn.close()
            box._conn = None
            cluster.restart()  # the daemon, the supervisor and the agent run on meanwhile
            release.touch()
            # The agent's report and the supervisor's heartbeats reach the new server.
            _wait_states(box.conn, ["job"], "in_review")
            assert _attempts(box.conn, "job") == [(1, "box")]
            _wait_hosts_live(box, ["box"])
            assert "running" in box.worker("daemon", "status").stdout
            assert [r["kind"] for r in box.conn.rows(
                "SELECT kind FROM events WHERE kind IN ('push_failed', 'refused_report')"
            )] == []  # fmt: skip
    finally:
        cluster.stop()
