"""Benchmark what the bubblewrap sandbox adds to `worker start` (not a test).

In one throwaway repository, alternating `sandbox = "none"` and `sandbox = "bwrap"`, it
times for each start:

1. `worker start ID` as a whole process (admission, the task's clone, the prompt, spawning
   the supervisor);
2. from that command's start until the agent (`sh -c 'echo up; sleep 60'`) has printed its
   first line: the supervisor's work included (the sandbox's layout, traps, report socket,
   and bwrap itself).

It prints medians and p90 in milliseconds, the difference bwrap - none, and each as a ratio
to `python3 -c pass` measured in the same run. The goal: the sandbox adds under 50 ms.

Usage: .venv/bin/python benchmarks/sandbox_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = str(Path(sys.executable).parent / "worker")
AGENT = "/bin/sh -c 'echo up; exec sleep 60'"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def worker(repo: Path, *args: str) -> None:
    subprocess.run([WORKER, *args], cwd=repo, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, env={**os.environ, "PWD": str(repo)})


def configure(repo: Path, mode: str) -> None:
    (repo / ".worker.toml").write_text(
        f'sandbox = "{mode}"\nmax_running = 50\nheartbeat_seconds = 1\n'
        f'cancel_grace_seconds = 0\nruntime_command = "{AGENT}"\n'
    )
    git(repo, "commit", "-qam", f"sandbox {mode}")


def one_start(repo: Path, task: str) -> tuple[float, float]:
    """(seconds of `worker start`, seconds until the agent printed)."""
    worker(repo, "add", task, "--title", task)
    log = repo / ".git" / "worker" / "runs" / task / "1" / "agent.log"
    began = time.perf_counter()
    worker(repo, "start", task)
    returned = time.perf_counter()
    while not (log.exists() and b"up" in log.read_bytes()):
        if time.perf_counter() - began > 30:
            raise SystemExit(f"{task}: the agent never started ({log})")
        time.sleep(0.001)
    up = time.perf_counter()
    worker(repo, "cancel", task, "--reason", "benchmark", "--cleanup", "--force")
    return returned - began, up - began


def bwrap_alone(runs: int) -> tuple[float, float]:
    """Median seconds of `true`, and of `true` in a sandbox like an agent's (no binds)."""
    from ai_skills.worker.run.sandbox import HIDDEN, _hide

    sandboxed = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                 *_hide(HIDDEN), "--unshare-pid", "--die-with-parent", "--", "true"]
    found = []
    for argv in (["true"], sandboxed):
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            subprocess.run(argv, check=True)
            times.append(time.perf_counter() - began)
        found.append(statistics.median(times))
    return found[0], found[1]


def python_baseline(runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-", dir="/var/tmp") as tmp:
        repo = Path(tmp) / "app"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "README.md").write_text("bench\n")
        git(repo, "add", "README.md")
        git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init")
        git(repo, "config", "user.name", "bench")
        git(repo, "config", "user.email", "bench@localhost")
        (repo / ".worker.toml").write_text("")
        git(repo, "add", ".worker.toml")
        git(repo, "commit", "-qm", "config")
        results: dict[str, dict[str, list[float]]] = {
            m: {"start": [], "agent": []} for m in ("none", "bwrap")
        }
        for i in range(args.runs + 1):  # the first round warms caches and is dropped
            for mode in ("none", "bwrap"):
                configure(repo, mode)
                start, agent = one_start(repo, f"{mode}-{i}")
                if i:
                    results[mode]["start"].append(start)
                    results[mode]["agent"].append(agent)
        base = python_baseline(args.runs)
        plain, boxed = bwrap_alone(args.runs)
    print(f"python -c pass: {base * 1000:.1f} ms (median of {args.runs})")
    print(f"`true`: {plain * 1000:.1f} ms; in a sandbox: {boxed * 1000:.1f} ms "
          f"(bwrap itself adds {(boxed - plain) * 1000:+.1f} ms)")
    for what, label in (("start", "`worker start`"), ("agent", "start -> agent running")):
        none = statistics.median(results["none"][what])
        bwrap = statistics.median(results["bwrap"][what])
        print(f"{label}:")
        for mode in ("none", "bwrap"):
            values = results[mode][what]
            median = statistics.median(values)
            print(f"  {mode:<6} median {median * 1000:7.1f} ms  p90 {p90(values) * 1000:7.1f} ms"
                  f"  ({median / base:.1f}x python)")
        print(f"  sandbox adds {(bwrap - none) * 1000:+.1f} ms (bwrap/none = {bwrap / none:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
