"""Several hosts on one PostgreSQL store against one host on SQLite: claims, add-to-running.

    .venv/bin/python benchmarks/hosts_bench.py [--tasks 200] [--hosts 4] [--wip 3]
                                               [--adders 4] [--timeout 1800]

(a) PostgreSQL: --hosts simulated hosts, each a clone of one bare git remote with a HOME of
    its own, each started with the real CLI (`worker daemon start --host hN --max-running
    WIP`), sharing one database on a scratch cluster (tests/pg_helpers.py), pushing task
    branches to the remote (`remote = "origin"`).
(b) SQLite: one clone of the same kind of remote, one daemon (no host: SQLite is one
    machine) with WIP = hosts x WIP, the same tasks.

The queue is filled first: --adders processes at a time add the tasks with `worker add`
from the clones (round robin; on PostgreSQL after each clone's daemon has started once to
join the store, and stopped), then the daemons start and drain it, so claims per second
measure the hosts, not how fast `worker add` runs on a loaded machine. The agent is a shell
command, not an LLM: it writes a file, commits it and runs `worker report --status done`,
so the figures are the worker's own overhead (claims, clones, supervisors, pushes). Agents
run with `sandbox = "none"`.

Printed for each: how long the adds took, wall time from the daemons' start to the last
task in `in_review`, claims per second (attempts over the span from the first claim to the
last), time from each task's `added` event to its transition to `running` (median, p90:
with the queue filled first, most of it is the wait for the adds and for a free slot),
failed writes (tracebacks and tick errors in the daemons' logs, tasks that stalled, failed
or ended anywhere but in_review), and tasks run by more than one host or more than once
(attempts per task; must be 0). Never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from watch_bench import postgres_url  # noqa: E402  (benchmarks are scripts, not a package)

BIN = Path(sys.executable).parent
# What each agent does: one commit of its own, then the report an LLM agent would send.
AGENT = ('echo "$WORKER_TASK_ID" > "$WORKER_TASK_ID.txt" && git add -A && '
         "git commit -qm work && worker report --status done --message ok")  # fmt: skip
CONFIG = """\
{store}remote = "origin"
max_running = {wip}
tick_seconds = 0.2
heartbeat_seconds = 0.5
lease_seconds = 30
sandbox = "none"
runtime_command = {command}
"""
LIVE = ("queued", "running", "needs_input")


@dataclass
class Clone:
    """One simulated machine: a clone of the remote with a HOME of its own."""

    name: str
    path: Path
    home: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "XDG_"))}
        env["HOME"] = str(self.home)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # `worker` for the agents
        return env

    def worker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(BIN / "worker"), *args], cwd=self.path, env=self.env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        if check and proc.returncode != 0:
            raise RuntimeError(f"{self.name}: worker {shlex.join(args)} exited "
                               f"{proc.returncode}: {proc.stderr.strip()}")  # fmt: skip
        return proc


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_remote(root: Path, store: str | None, wip: int) -> Path:
    """A bare remote whose main holds the shared `.worker.toml`."""
    remote, seed = root / "remote.git", root / "seed"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    line = f"store = {json.dumps(store)}\n" if store else ""
    command = json.dumps(["sh", "-c", AGENT])  # a JSON list is a TOML array
    (seed / ".worker.toml").write_text(CONFIG.format(store=line, wip=wip, command=command))
    (seed / "README.md").write_text("shared\n")
    git(seed, "add", "-A")
    git(seed, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "shared")
    git(seed, "push", "-q", str(remote), "main")
    return remote


def clone(root: Path, remote: Path, name: str) -> Clone:
    path, home = root / name, root / f"home-{name}"
    home.mkdir()
    git(root, "clone", "-q", str(remote), str(path))
    # Task clones copy the identity from here; the agents commit with it.
    git(path, "config", "user.name", f"agent on {name}")
    git(path, "config", "user.email", f"{name}@bench.invalid")
    return Clone(name, path, home)


@contextmanager
def daemons(clones: list[Clone], starts: list[list[str]]) -> Iterator[None]:
    """Start one daemon per clone; stop every daemon, supervisor and agent at the end."""
    started: list[Clone] = []
    try:
        for host, args in zip(clones, starts, strict=True):
            started.append(host)
            host.worker("daemon", "start", *args)
        yield
    finally:
        for host in started:
            host.worker("daemon", "stop", check=False)
        if started:
            stop_attempts(started[0])


def stop_attempts(host: Clone) -> None:
    """Every supervisor and agent any attempt started (all hosts run on this machine)."""
    from ai_skills.worker.process_identity import stop_process
    from ai_skills.worker.run.agent_processes import launched, stop_attempt_processes
    from ai_skills.worker.tasks import get_attempt

    with store_of(host) as db:
        for row in db.rows("SELECT id FROM attempts WHERE ended_at IS NULL"):
            attempt = get_attempt(db, int(row["id"]))
            if attempt is None:
                continue
            attempt = launched(db, attempt, timeout=1)
            stop_attempt_processes(attempt, grace=0)
            stop_process(attempt.supervisor_pid, attempt.supervisor_token, grace=0)


@contextmanager
def store_of(host: Clone) -> Iterator[Any]:
    """The store as the clone's `.worker.toml` names it, opened in this process."""
    from ai_skills.worker.context import find_repo
    from ai_skills.worker.store import open_store

    os.environ.pop("WORKER_STORE", None)
    db = open_store(find_repo(host.path))
    try:
        yield db
    finally:
        db.close()


def add_tasks(clones: list[Clone], tasks: int, adders: int) -> float:
    """Add `tasks` tasks with `worker add`, `adders` at a time; returns the seconds taken."""
    begun = time.perf_counter()

    def add(n: int) -> None:
        clones[n % len(clones)].worker("add", f"t{n:04d}", "--title", f"task {n}")

    pool = ThreadPoolExecutor(adders)
    try:
        list(pool.map(add, range(tasks)))
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C: no more adds
    return time.perf_counter() - begun


def wait_settled(host: Clone, tasks: int, timeout: float) -> bool:
    """Whether every task left queued/running/needs_input within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with store_of(host) as db:
        while time.monotonic() < deadline:
            marks = ", ".join("?" * len(LIVE))
            live = db.value(f"SELECT COUNT(*) FROM tasks WHERE state IN ({marks})", LIVE)
            settled = int(db.value("SELECT COUNT(*) FROM tasks")) - int(live)
            if settled >= tasks:
                return True
            time.sleep(0.5)
    return False


def log_counts(clones: list[Clone]) -> tuple[int, int]:
    """Errors (tracebacks, and errors a pass reported) and claims lost to another host
    ("claimed meanwhile": a lower bound, a pass logs its lines only when it started or
    stalled a task or had errors), in the daemons' logs."""
    errors = lost = 0
    for host in clones:
        log = host.path / ".git/worker/daemon.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        errors += text.count("Traceback (most recent call last)")
        for line in text.splitlines():
            if line.startswith("{"):
                with suppress(ValueError):  # a line the daemon's pass did not write
                    found = json.loads(line)
                    errors += len(found.get("errors") or [])
                    reasons = [str(w.get("reason")) for w in found.get("waiting") or []]
                    lost += sum(1 for r in reasons if r.startswith("claimed meanwhile"))
    return errors, lost


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.9) - 1, 0)]


def figures(
    host: Clone, clones: list[Clone], add_seconds: float, started: float, settled: bool
) -> dict[str, Any]:
    """What the run did, read from the store's events and attempts."""
    with store_of(host) as db:
        added: dict[str, float] = {}
        running: dict[str, float] = {}
        review: dict[str, float] = {}
        for e in db.rows("SELECT task_id, at, kind, to_state FROM events ORDER BY seq"):
            if e["kind"] == "added":
                added[e["task_id"]] = e["at"]
            elif e["kind"] == "transition" and e["to_state"] == "running":
                running.setdefault(e["task_id"], e["at"])
            elif e["kind"] == "transition" and e["to_state"] == "in_review":
                review.setdefault(e["task_id"], e["at"])
        states = [r["state"] for r in db.rows("SELECT state FROM tasks")]
        claims = [r["started_at"] for r in db.rows("SELECT started_at FROM attempts")]
        per_task = db.rows("SELECT task_id, COUNT(*) AS n, COUNT(DISTINCT host) AS hosts"
                           " FROM attempts GROUP BY task_id")  # fmt: skip
        stalled = db.value("SELECT COUNT(DISTINCT task_id) FROM events"
                           " WHERE kind = 'transition' AND to_state = 'stalled'")  # fmt: skip
    waits = [running[t] - added[t] for t in running if t in added]
    errors, lost = log_counts(clones)
    span = max(claims) - min(claims) if len(claims) > 1 else 0.0
    return {
        "settled": settled,
        "in_review": len(review),
        "add_seconds": add_seconds,
        "wall": (max(review.values()) - started) if review else float("nan"),
        "claims": len(claims),
        "claims_per_second": len(claims) / span if span else float("nan"),
        "wait": summary(waits) if waits else (float("nan"), float("nan")),
        "log_errors": errors,
        "lost_claims": lost,
        "not_in_review": sum(1 for s in states if s != "in_review"),
        "stalled": stalled,
        "failed": sum(1 for s in states if s == "failed"),
        "two_hosts": sum(1 for r in per_task if int(r["hosts"]) > 1),
        "rerun": sum(1 for r in per_task if int(r["n"]) > 1),
    }


def run_postgresql(root: Path, url: str, args: argparse.Namespace) -> dict[str, Any]:
    remote = make_remote(root, url, args.wip)
    clones = [clone(root, remote, f"h{n + 1}") for n in range(args.hosts)]
    starts = [["--host", c.name, "--max-running", str(args.wip)] for c in clones]
    with daemons(clones, starts):  # each clone joins the store as its host
        wait_hosts_live(clones[0], len(clones))
    add_seconds = add_tasks(clones, args.tasks, args.adders)
    started = time.time()
    with daemons(clones, starts):
        settled = wait_settled(clones[0], args.tasks, args.timeout)
        return figures(clones[0], clones, add_seconds, started, settled)


def wait_hosts_live(host: Clone, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = json.loads(host.worker("hosts", "--json").stdout)
        if sum(1 for h in found if h["lease"] == "live") >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{count} hosts did not register within {timeout:.0f} s")


def run_sqlite(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    wip = args.hosts * args.wip
    remote = make_remote(root, None, wip)
    only = clone(root, remote, "one")
    add_seconds = add_tasks([only], args.tasks, args.adders)
    started = time.time()
    with daemons([only], [[]]):  # max_running in .worker.toml: --max-running is per host
        settled = wait_settled(only, args.tasks, args.timeout)
        return figures(only, [only], add_seconds, started, settled)


def report(label: str, f: dict[str, Any]) -> None:
    print(f"{label}")
    if not f["settled"]:
        print("  NOT SETTLED within --timeout: the figures below are partial")
    print(f"  {f['in_review']} tasks reached in_review; `worker add` x N took "
          f"{f['add_seconds']:.1f} s")  # fmt: skip
    print(f"  wall time, daemons' start to last in_review {f['wall']:7.1f} s")
    print(f"  claims per second                         {f['claims_per_second']:8.2f}"
          f"  ({f['claims']} claims)")  # fmt: skip
    print(f"  added to running: median {f['wait'][0]:7.1f} s   p90 {f['wait'][1]:7.1f} s"
          "  (the adds came first: mostly the wait in the queue)")  # fmt: skip
    print(f"  failed writes: {f['log_errors']} errors in the daemons' logs, "
          f"{f['stalled']} tasks stalled, {f['failed']} failed, "
          f"{f['not_in_review']} not in in_review at the end")  # fmt: skip
    print(f"  claims lost to another host (a daemon's pass found the task taken meanwhile): "
          f"at least {f['lost_claims']}")  # fmt: skip
    print(f"  tasks run by more than one host: {f['two_hosts']}; "
          f"tasks with more than one attempt: {f['rerun']}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--wip", type=int, default=3, help="agents per host")
    parser.add_argument("--adders", type=int, default=4, help="`worker add`s at a time")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per store")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hosts-bench-")))
        (tmp / "pg").mkdir()
        (tmp / "sqlite").mkdir()
        url = stack.enter_context(postgres_url(None))
        pg = run_postgresql(tmp / "pg", url, args)
        lite = run_sqlite(tmp / "sqlite", args)
    print(f"{args.tasks} tasks, scripted agent (a commit and `worker report`), sandbox = none, "
          f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    report(f"PostgreSQL, {args.hosts} hosts x WIP {args.wip}", pg)
    report(f"SQLite, one host, WIP {args.hosts * args.wip}", lite)
    print(f"ratios PostgreSQL / SQLite: wall {pg['wall'] / lite['wall']:.2f}x, claims per "
          f"second {pg['claims_per_second'] / lite['claims_per_second']:.2f}x, added to "
          f"running median {pg['wait'][0] / lite['wait'][0]:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
