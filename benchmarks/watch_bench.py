"""Event-to-watcher latency: PostgreSQL's LISTEN/NOTIFY against polling.

    .venv/bin/python benchmarks/watch_bench.py [--events 40] [--url postgresql://...]

A watcher process follows the event log as `worker watch --follow` does (the same
`stream_events`, printing each event's seq); this process appends transitions one at a
time, each in its own transaction as the worker writes them, at random gaps (so a poll
cannot fall into step with them), and times from the commit's return to the watcher's
line arriving on its stdout. Three watchers, on the same machine:

(a) PostgreSQL, woken by NOTIFY (what `watch` does now);
(b) PostgreSQL, looking every 0.5 s (the same stream with the clock as its waiter: what
    `watch` did before);
(c) SQLite, looking every 0.5 s (what `watch` does on SQLite).

Prints the median and p90 in milliseconds and the ratios of (b) and (c) to (a). The server
is a scratch cluster (tests/pg_helpers.py: Debian's PostgreSQL programs) unless --url names
one where the benchmark may create and drop a database. Never fails on time.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WATCHER = r"""
import sys
from pathlib import Path
from ai_skills.worker.context import find_repo
from ai_skills.worker.ops.watch import stream_events
from ai_skills.worker.store import open_store
from ai_skills.worker.store.backend import PollWaiter
db = open_store(find_repo(Path(sys.argv[1])))
if sys.argv[2] == "poll":
    db.event_waiter = PollWaiter  # the clock instead of LISTEN
print("ready", flush=True)
for event in stream_events(db, since=0, follow=True):
    print(event.seq, flush=True)
"""


def make_repo(repo: Path) -> Path:
    repo.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "i"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


@contextmanager
def postgres_url(given: str | None) -> Iterator[str]:
    """A fresh database's URL: on the server `given`, else on a scratch cluster."""
    import psycopg

    sys.path.insert(0, str(ROOT / "tests"))
    from pg_helpers import database_url, start_scratch_cluster

    cluster = None
    if given is None:
        cluster = start_scratch_cluster()
        given = cluster.url
    name = f"watch_bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(given, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            yield database_url(given, name)
        finally:
            with psycopg.connect(given, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    finally:
        if cluster is not None:
            cluster.stop()


def measure(repo: Path, mode: str, store: str, events: int) -> list[float]:
    """Milliseconds from each commit to the watcher's line, for `events` events."""
    from ai_skills.worker.context import find_repo
    from ai_skills.worker.store import append_event, open_store, transaction

    env = {**os.environ, "WORKER_STORE": store}
    os.environ["WORKER_STORE"] = store
    db = open_store(find_repo(repo))
    with transaction(db):
        db.run("DELETE FROM events")
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER, str(repo), mode],
        cwd=repo, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert watcher.stdout is not None
    try:
        assert watcher.stdout.readline().strip() == "ready"
        rng = random.Random(7)
        latencies = []
        for n in range(events):
            time.sleep(0.05 + rng.random() * 0.5)
            with transaction(db):
                seq = append_event(db, kind="transition", task_id=f"t{n}",
                                   from_state="queued", to_state="running")  # fmt: skip
            committed = time.perf_counter()
            line = watcher.stdout.readline().strip()
            latencies.append((time.perf_counter() - committed) * 1000)
            assert line == str(seq), (line, seq)
        return latencies
    finally:
        watcher.terminate()
        watcher.wait()
        db.close()


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--url", help="a PostgreSQL server to create a database on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        sqlite_repo = make_repo(Path(tmp) / "sqlite")
        pg_repo = make_repo(Path(tmp) / "pg")
        with postgres_url(args.url) as url:
            rows = {
                "PostgreSQL, NOTIFY": measure(pg_repo, "notify", url, args.events),
                "PostgreSQL, poll 0.5 s": measure(pg_repo, "poll", url, args.events),
                "SQLite, poll 0.5 s": measure(sqlite_repo, "notify", "sqlite", args.events),
            }
    base = summary(rows["PostgreSQL, NOTIFY"])[0]
    print(f"event-to-watcher latency, {args.events} events each (commit to the watcher's line)")
    for label, values in rows.items():
        median, p90 = summary(values)
        print(f"  {label:24} median {median:7.1f} ms  p90 {p90:7.1f} ms  "
              f"{median / base:6.1f}x the NOTIFY median")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
