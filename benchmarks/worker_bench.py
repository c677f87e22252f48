"""Benchmark `worker` against `python3 -c pass` measured in the same run (not a test).

1. `worker status --json` as a whole process, on a store with 1,000 tasks and 20,000 events.
2. `worker report` as a whole process (what an agent runs).
3. A burst: 7 worker processes each reporting every 100 ms for `--seconds` (default 30),
   plus one process ticking once a second; per-write latency and the count of failed writes.

Usage: .venv/bin/python benchmarks/worker_bench.py [--seconds 30] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = 1_000
EVENTS = 20_000
WORKERS = 7

BURST = r"""
import json, sys, time, pathlib
from ai_skills.worker.store import connect
from ai_skills.worker.report import report
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
from ai_skills.worker.tick import tick
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


def line(name: str, values: list[float], base: float | None) -> str:
    p50, p90, p99 = (pct(values, q) * 1000 for q in (50, 90, 99))
    ratio = f"{pct(values, 50) / base:6.2f}x" if base else "      "
    return (
        f"{name:<34} n={len(values):<5} p50={p50:8.2f}ms p90={p90:8.2f}ms "
        f"p99={p99:8.2f}ms max={max(values) * 1000:8.2f}ms  {ratio}"
    )


def timed_runs(argv: list[str], *, cwd: Path, runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr.decode()[-500:]}")
    return times


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


def populate(repo: Path) -> tuple[Path, list[tuple[str, int]]]:
    """1,000 tasks, 20,000 events; the first WORKERS tasks look running (for the burst)."""
    from ai_skills.worker.context import find_repo
    from ai_skills.worker.store import append_event, connect, transaction
    from ai_skills.worker.tasks import NewTask, add_task

    ctx = find_repo(repo)
    conn = connect(ctx.db_path)
    for i in range(TASKS):
        add_task(
            conn,
            NewTask(
                task_id=f"task-{i:04d}", title=f"task {i}", base="main", scopes=[f"src/mod{i}/**"]
            ),
        )
    running: list[tuple[str, int]] = []
    now = time.time()
    with transaction(conn):
        for i in range(WORKERS):
            task_id = f"task-{i:04d}"
            cur = conn.execute(
                "INSERT INTO attempts (task_id, number, worktree, branch, command, log_file,"
                " started_at, lease_until, progress_at, heartbeat_at) VALUES (?, 1, '/nowhere',"
                " ?, '[]', '/nowhere.log', ?, ?, ?, ?)",
                (task_id, f"worker/{task_id}", now, now + 3600, now, now),
            )
            attempt_id = int(cur.lastrowid or 0)
            conn.execute(
                "UPDATE tasks SET state = 'running', version = 2, current_attempt = ? WHERE id = ?",
                (attempt_id, task_id),
            )
            append_event(
                conn,
                kind="transition",
                task_id=task_id,
                attempt_id=attempt_id,
                from_state="queued",
                to_state="running",
                data={"action": "start"},
            )
            running.append((task_id, attempt_id))
        have = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        for n in range(EVENTS - have):
            append_event(
                conn,
                kind="report",
                task_id=f"task-{n % TASKS:04d}",
                data={"status": "working", "message": f"filler {n}"},
            )
    return ctx.db_path, running


def burst(
    repo: Path, db: Path, running: list[tuple[str, int]], seconds: float, env: dict[str, str]
) -> tuple[list[float], list[float], int, str]:
    go = db.parent / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BURST, str(db), t, str(a), str(seconds), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for t, a in running
    ]
    ticker = subprocess.Popen(
        [sys.executable, "-c", TICKER, str(repo), str(seconds), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=repo,
    )
    time.sleep(1.0)
    go.touch()
    reports: list[float] = []
    failed = 0
    errors = ""
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
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the burst")
    parser.add_argument("--runs", type=int, default=15, help="whole-process runs per command")
    args = parser.parse_args()
    env = {**os.environ, "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        t0 = time.perf_counter()
        db, running = populate(repo)
        print(
            f"store: {TASKS} tasks, {EVENTS} events, built in {time.perf_counter() - t0:.1f}s"
            f" ({db.stat().st_size // 1024} KiB)"
        )
        base = timed_runs([sys.executable, "-c", "pass"], cwd=repo, runs=args.runs, env=env)
        worker = [sys.executable, "-m", "ai_skills.cli.worker"]
        status = timed_runs([*worker, "status", "--json"], cwd=repo, runs=args.runs, env=env)
        report_env = {
            **env,
            "WORKER_TASK_ID": running[0][0],
            "WORKER_ATTEMPT_ID": str(running[0][1]),
        }
        report = timed_runs(
            [*worker, "report", "--status", "working", "-m", "bench"],
            cwd=repo,
            runs=args.runs,
            env=report_env,
        )
        b50 = pct(base, 50)
        print(f"\nwhole process (ratio = p50 / p50 of `python -c pass`, cpus={os.cpu_count()})")
        print(line("python -c pass (baseline)", base, b50))
        print(line("worker status --json (1000 tasks)", status, b50))
        print(line("worker report --status working", report, b50))
        print(f"\nburst: {WORKERS} workers reporting every 100 ms + 1 tick/s for {args.seconds:g}s")
        reports, ticks, failed, errors = burst(repo, db, running, args.seconds, env)
        print(line("report write (in process)", reports, b50))
        print(line("tick pass (in process)", ticks, b50))
        print(f"failed writes: {failed} of {len(reports) + len(ticks)}")
        if errors.strip():
            print("errors:\n" + errors.strip()[-2000:])
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
