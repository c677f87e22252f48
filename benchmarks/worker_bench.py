"""Whole-process timing of `worker report` and `worker status --json` against `python -c pass`.

    .venv/bin/python benchmarks/worker_bench.py [--runs 21] [--sizes 300,1000,3000,10000]
                                               [--events-per-task 20] [--seconds 0]

Every command runs as the installed `worker` console script (byte code cached, one warm-up
run), interleaved round by round with `python -c pass` from the same venv, so a busy
machine slows both alike. Ratios are medians over medians, of wall-clock time and of CPU
time (user + system of the process and the git runs it waited for): on a loaded machine
the wall-clock ratios of heavier processes grow with the load, the CPU ratios much less.
Never fails on time.

(a) `worker report --status working -m ...` as an agent runs it: through its supervisor's
    socket (WORKER_REPORT_SOCKET; this process plays the supervisor and applies the report to
    the store, without fetching a clone), and straight to the store (no socket: WORKER_TASK_ID
    and WORKER_ATTEMPT_ID only), on a store of each size. Goal: <= 1.5x (an agent under a
    supervisor always has the socket).
(b) `worker status --json` on stores of each size in --sizes (tasks; 20 events each by
    default, so 10,000 tasks hold 200,000 events): 7 running, 28 queued or waiting for
    review, the rest merged, cancelled or failed, with their attempts. Without --all status
    shows the live tasks and the 20 that finished last, so its output does not grow with
    the history; `--all` (every task) is timed too, with fewer runs. No task has a live
    branch, so git runs once (each live branch adds two git runs). Goals: <= 2x at 300
    tasks, <= 3x at 10,000.
(c) the typer path (`python -m ai_skills.cli.worker`) of both, for comparison.
(d) with --seconds N: a burst of 7 processes reporting every 100 ms plus one tick a second,
    in process, for N seconds: per-write latency and the count of failed writes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKERS = 7
BIN = Path(sys.executable).parent

BURST = r"""
import json, sys, time, pathlib
from ai_skills.worker.store import connect
from ai_skills.worker.run.report import report
db, task, attempt, seconds, go = sys.argv[1:6]
attempt, seconds = int(attempt), float(seconds)
conn = connect(pathlib.Path(db))
while not pathlib.Path(go).exists(): time.sleep(0.001)
lat, failed, i = [], 0, 0
end = time.monotonic() + seconds
next_at = time.monotonic()
while time.monotonic() < end:
    t0 = time.perf_counter()
    try:
        report(conn, task_id=task, attempt_id=attempt,
               status="needs-input" if i % 2 else "working", message=str(i))
    except Exception as exc:
        failed += 1
        print(type(exc).__name__, exc, file=sys.stderr)
    lat.append(time.perf_counter() - t0)
    i += 1
    next_at += 0.1
    time.sleep(max(0.0, next_at - time.monotonic()))
print(json.dumps({"latencies": lat, "failed": failed}))
"""

TICKER = r"""
import json, sys, time, pathlib
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import find_repo
from ai_skills.worker.store import connect
from ai_skills.worker.ops.tick import tick
repo, seconds, go = pathlib.Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ctx = find_repo(repo); conn = connect(ctx.db_path)
config = WorkerConfig(max_running=50, lease_seconds=3600, stall_after_seconds=3600)
while not pathlib.Path(go).exists(): time.sleep(0.001)
lat, failed = [], 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    t0 = time.perf_counter()
    try:
        tick(ctx, conn, config)
    except Exception as exc:
        failed += 1
        print(type(exc).__name__, exc, file=sys.stderr)
    lat.append(time.perf_counter() - t0)
    time.sleep(1.0)
print(json.dumps({"latencies": lat, "failed": failed}))
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def line(name: str, wall: list[float], cpu: list[float], base: tuple[float, float]) -> str:
    p50, p90, c50 = statistics.median(wall), pct(wall, 90), statistics.median(cpu)
    return (f"{name:<42} n={len(wall):<3} wall p50 {p50 * 1000:7.1f}ms p90 {p90 * 1000:7.1f}ms"
            f" {p50 / base[0]:5.2f}x   cpu p50 {c50 * 1000:7.1f}ms {c50 / base[1]:5.2f}x")


def make_repo(root: Path) -> Path:
    repo = root
    repo.mkdir(parents=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@x")
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


# A long-lived repository: the live tasks (WIP-limited) stay few however long the history;
# after the first WORKERS (running) come LIVE more, then finished ones.
LIVE = ("queued",) * 20 + ("in_review",) * 5 + ("needs_input",) * 3
FINISHED = ("merged",) * 8 + ("cancelled", "failed")


def state_of(index: int) -> str:
    """The state of task `index` in a store of any size."""
    if index < WORKERS:
        return "running"
    if index < WORKERS + len(LIVE):
        return LIVE[index - WORKERS]
    return FINISHED[index % len(FINISHED)]


def populate(repo: Path, tasks: int, events_per_task: int) -> tuple[Path, list[tuple[str, int]]]:
    """`tasks` tasks with attempts and `events_per_task` events each, by direct inserts."""
    from ai_skills.worker.context import find_repo
    from ai_skills.worker.store import connect

    ctx = find_repo(repo)
    connect(ctx.db_path).close()  # the store's own schema, migrated
    conn = sqlite3.connect(ctx.db_path)  # bulk inserts: the benchmark's fixture, not the product
    now = time.time()
    task_rows, attempt_rows, runtime_rows, event_rows = [], [], [], []
    running: list[tuple[str, int]] = []
    for i in range(tasks):
        task_id, state = f"task-{i:05d}", state_of(i)
        attempt = None if state == "queued" else i + 1
        task_rows.append((task_id, f"task {i}", json.dumps([f"src/mod{i}/**"]), state,
                          f"worker/{task_id}", attempt, now - 86400, now))
        if attempt is not None:
            live = state == "running"
            attempt_rows.append((attempt, task_id, f"/nowhere/{task_id}", f"worker/{task_id}",
                                 f"/nowhere/{task_id}.log", now - 3600, now + 3600, now,
                                 None if live else 0, None if live else now - 1800))
            runtime_rows.append((attempt, "claude" if i % 3 else "codex", "finished"))
            if live:
                running.append((task_id, attempt))
        event_rows += [(now - 86400 + n, task_id, attempt, "report",
                        json.dumps({"status": "working", "message": f"step {n}"}))
                       for n in range(events_per_task)]
    with conn:
        conn.executemany(
            "INSERT INTO tasks (id, title, scopes, base, state, branch, current_attempt,"
            " created_at, updated_at) VALUES (?, ?, ?, 'main', ?, ?, ?, ?, ?)", task_rows)
        conn.executemany(
            "INSERT INTO attempts (id, task_id, number, worktree, branch, command, log_file,"
            " started_at, lease_until, heartbeat_at, exit_code, ended_at)"
            " VALUES (?, ?, 1, ?, ?, '[]', ?, ?, ?, ?, ?, ?)", attempt_rows)
        conn.executemany(
            "INSERT INTO attempt_runtime (attempt_id, profile, outcome) VALUES (?, ?, ?)",
            runtime_rows)
        conn.executemany(
            "INSERT INTO events (at, task_id, attempt_id, kind, data) VALUES (?, ?, ?, ?, ?)",
            event_rows)
    conn.close()
    return ctx.db_path, running


Samples = dict[str, list[float]]


def interleaved(commands: dict[str, tuple[list[str], Path, dict[str, str]]],
                runs: int) -> tuple[Samples, Samples]:
    """Wall and CPU seconds (user + system, with the git runs it waited for) per run of each
    command, one run of each per round, after a warm-up round."""
    wall: Samples = {name: [] for name in commands}
    cpu: Samples = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, (argv, cwd, env) in commands.items():
            before, t0 = children_cpu(), time.perf_counter()
            proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
            elapsed, after = time.perf_counter() - t0, children_cpu()
            if proc.returncode != 0:
                raise SystemExit(f"{name}: {argv} failed: {proc.stderr.decode()[-500:]}")
            if round_:
                wall[name].append(elapsed)
                cpu[name].append(after - before)
    return wall, cpu


def children_cpu() -> float:
    """CPU seconds of every child waited for so far (rusage: microseconds, not os.times'
    clock ticks)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def supervisor_socket(db: Path, task_id: str, attempt_id: int, path: Path) -> Any:
    """Serve a report socket the way an attempt's supervisor does (minus the clone fetch).

    The supervisor keeps its own connection open for its whole life (run/supervisor.py), so
    closing a handler's connection never checkpoints the WAL into the database (an fsync);
    `held` plays that connection.
    """
    from ai_skills.worker.run.report import report
    from ai_skills.worker.run.report_socket import ReportServer
    from ai_skills.worker.store import connect

    held = connect(db)
    def handle(request: dict[str, Any]) -> dict[str, Any]:
        conn = connect(db)
        try:
            result = report(conn, task_id=task_id, attempt_id=attempt_id,
                            status=str(request.get("status")), message=str(request["message"]))
            return {"result": result.as_dict()}
        finally:
            conn.close()

    server = ReportServer(path, handle)
    server.held = held  # closed with the process
    return server


def burst(repo: Path, db: Path, running: list[tuple[str, int]], seconds: float,
          env: dict[str, str]) -> tuple[list[float], list[float], int, str]:
    go = db.parent / "go"
    procs = [subprocess.Popen([sys.executable, "-c", BURST, str(db), t, str(a), str(seconds),
                               str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
             for t, a in running]
    ticker = subprocess.Popen([sys.executable, "-c", TICKER, str(repo), str(seconds), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, cwd=repo)
    time.sleep(1.0)
    go.touch()
    reports: list[float] = []
    failed, errors = 0, ""
    for proc in procs:
        out, err = proc.communicate()
        data = json.loads(out)
        reports += data["latencies"]
        failed += data["failed"]
        errors += err
    out, err = ticker.communicate()
    data = json.loads(out)
    return reports, data["latencies"], failed + data["failed"], errors + err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="whole-process runs per command")
    parser.add_argument("--sizes", default="300,1000,3000,10000", help="task counts for status")
    parser.add_argument("--events-per-task", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=0.0, help="length of the burst (0: none)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure as installed: byte code cached
    env = {k: v for k, v in env.items() if not k.startswith("WORKER_")}
    worker, typer_worker = [str(BIN / "worker")], [sys.executable, "-m", "ai_skills.cli.worker"]
    print(f"cpus={os.cpu_count()} load average at start={os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        repos, dbs = {}, {}
        for size in sizes:
            t0 = time.perf_counter()
            repos[size] = make_repo(Path(tmp) / f"repo-{size}")
            dbs[size], running = populate(repos[size], size, args.events_per_task)
            print(f"store: {size} tasks, {size * args.events_per_task} events, built in "
                  f"{time.perf_counter() - t0:.1f}s ({dbs[size].stat().st_size // 1024} KiB)")
        small = sizes[0]
        repo, (task_id, attempt_id) = repos[small], running[0]  # the same task in every store
        store_env = {**env, "WORKER_TASK_ID": task_id, "WORKER_ATTEMPT_ID": str(attempt_id)}
        servers = {size: supervisor_socket(dbs[size], task_id, attempt_id,
                                           Path(tmp) / f"run-{size}/report.sock")
                   for size in sizes}
        report = ["report", "--status", "working", "-m", "bench"]
        base = [sys.executable, "-c", "pass"]
        commands: dict[str, tuple[list[str], Path, dict[str, str]]] = {
            "python -c pass (baseline)": (base, repo, env)}
        for size in sizes:
            socket_env = {**store_env, "WORKER_REPORT_SOCKET": str(servers[size].path)}
            commands |= {
                f"worker report, socket ({size} tasks)": ([*worker, *report], repos[size],
                                                          socket_env),
                f"worker report, store ({size} tasks)": ([*worker, *report], repos[size],
                                                         store_env),
                f"worker status --json ({size} tasks)": ([*worker, "status", "--json"],
                                                         repos[size], env),
            }
        times = interleaved(commands, args.runs)
        few = max(5, args.runs // 3)
        all_times = interleaved({
            "python -c pass (baseline)": (base, repo, env),
            **{f"worker status --json --all ({size} tasks)": (
                [*worker, "status", "--json", "--all"], repos[size], env) for size in sizes},
        }, few)
        typer_times = interleaved({
            "python -c pass (baseline)": (base, repo, env),
            "typer: worker report (store)": ([*typer_worker, *report], repo, store_env),
            f"typer: worker status --json ({small} tasks)": ([*typer_worker, "status", "--json"],
                                                           repo, env),
        }, few)
        for server in servers.values():
            server.close()
        print("\nratios: p50 over the p50 of the baseline runs in the same rounds (wall clock,"
              " and CPU time, which a loaded machine distorts less)")
        for wall, cpu in (times, all_times, typer_times):
            key = "python -c pass (baseline)"
            base50 = (statistics.median(wall[key]), statistics.median(cpu[key]))
            for name in wall:
                if wall is times or name != key:
                    print(line(name, wall[name], cpu[name], base50))
        print("\ngrowth with task count (p50, and ms per 1,000 tasks over the smallest store)")
        for label, (wall, _) in (("report, socket", times), ("report, store", times),
                                 ("status --json", times), ("status --json --all", all_times)):
            first = statistics.median(wall[f"worker {label} ({small} tasks)"])
            for size in sizes:
                p50 = statistics.median(wall[f"worker {label} ({size} tasks)"])
                per = (p50 - first) * 1000 / (size - small) * 1000 if size > small else 0.0
                print(f"  {label:<20} {size:>6} tasks  p50 {p50 * 1000:8.1f} ms"
                      f"  ({per:6.2f} ms per 1000 tasks)")
        failed = 0
        if args.seconds > 0:
            print(f"\nburst: {WORKERS} workers reporting every 100 ms + 1 tick/s for "
                  f"{args.seconds:g}s")
            reports, ticks, failed, errors = burst(repo, dbs[small], running, args.seconds, env)
            for name, values in (("report write (in process)", reports),
                                 ("tick pass (in process)", ticks)):
                print(f"{name:<42} n={len(values):<5} p50 {statistics.median(values) * 1000:7.1f}"
                      f"ms p90 {pct(values, 90) * 1000:7.1f}ms p99 {pct(values, 99) * 1000:7.1f}ms")
            print(f"failed writes: {failed} of {len(reports) + len(ticks)}")
            if errors.strip():
                print("errors:\n" + errors.strip()[-2000:])
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
