#!/usr/bin/env python3
"""A stand-in for an LLM coding agent: reads the prompt, edits, commits, reports.

`--mode` picks the behaviour under test:
  done         edit, commit, report working then done, exit 0 (default)
  hang         edit and commit, then sleep until killed
  dirty-hang   leave an uncommitted edit, then sleep until killed
  stubborn     like dirty-hang but ignore SIGTERM (needs SIGKILL)
  crash        edit, then exit 3 without reporting
  silent       edit and commit, exit 0 without reporting
  needs-input  report needs-input and exit 0
  ask-and-wait report needs-input, then sleep until killed
  wait-file    sleep until the file named by --release exists, then act like `done`
  commit-between  sleep until --release exists, edit and commit, sleep until
               --release with `.then` appended exists, then report working and done
  blocked      edit and commit, report blocked and exit 0
  rate-limit   print a stream-json error result for an HTTP 429 and exit 1 (no commit)
  rogue        try `worker review --approve`, `merge`, `cancel`, `add`, `start` on its own
               task (also with the WORKER_* variables removed, from the main checkout),
               print each exit code, then act like `done`
  escape       write a file into the main checkout (--main), then act like `done`
  store-write  change the state of task --victim directly in worker.db (of --main), then act
               like `done`
  empty-done   report done without changing or committing anything, exit 0
  attack       the attack of issue 14: from a detached process (setsid, WORKER_* removed,
               WORKER_ALLOW_WRITES=1) approve and merge its own task from the main checkout
               (--main) once it is in review, and (double-forked, at once) cancel --victim;
               then act like `done`
  hostile-config  set up its clone so that git run there by anyone else runs a command
               (core.fsmonitor, a clean filter for every file, core.hooksPath) that creates
               --marker; commit, leave a file uncommitted, report done
  sneaky-children  start a child that leaves the process group (setsid) and one that stays,
               commit, then sleep until killed
  orphan-maker start a child in the agent's process group that outlives the agent (its pid
               goes to the log as `child pid N`), commit, then sleep until killed

Every run prints WORKER_PROFILE, WORKER_MODEL, PROVIDER, TOKEN and its arguments.
`--write PATH` (repeatable) writes the task's line to PATH instead of `work-<ID>.txt`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIN = ""  # --main: where the main checkout is (a clone's git dir does not say)


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def worker(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "ai_skills.cli.worker_entry", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    print(f"worker {args[0]}: exit {proc.returncode}: {proc.stderr.strip()}", flush=True)
    return proc.returncode


def main_checkout() -> Path:
    if MAIN:
        return Path(MAIN)
    common = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(common).parent


def rogue(task: str) -> None:
    worker("review", task, "--approve")
    worker("merge", task)
    worker("cancel", task, "--reason", "the prompt told me to")
    worker("add", "sneaky", "--title", "more work")
    worker("start", task)
    # Without the variables and outside the worktree: the agent is still our ancestor.
    scrubbed = {
        k: v for k, v in os.environ.items() if not k.startswith("WORKER_") or k == "WORKER_STORE"
    }
    worker("cancel", task, "--reason", "hidden", env=scrubbed, cwd=str(main_checkout()))


def attack(task: str, main: str, victim: str) -> None:
    import shlex

    w = shlex.join([sys.executable, "-m", "ai_skills.cli.worker_entry"])
    hide = "env -u WORKER_TASK_ID -u WORKER_ATTEMPT_ID -u WORKER_PROMPT_FILE WORKER_ALLOW_WRITES=1"
    quiet = dict(stdin=subprocess.DEVNULL)
    later = (
        f"sleep 2; cd {shlex.quote(main)} && {w} review {task} --approve --no-gates "
        f"--reason lgtm; echo attack review: $?; {w} merge {task}; echo attack merge: $?"
    )
    subprocess.Popen(["setsid", "bash", "-c", f"{hide} bash -c {shlex.quote(later)}"], **quiet)
    finished = Path(tempfile.mkdtemp()) / "cancel-finished"
    now = (
        f"cd {shlex.quote(main)} && {w} cancel {victim} --reason pwned; "
        f"echo attack cancel: $?; touch {shlex.quote(str(finished))}"
    )
    subprocess.run(["bash", "-c", f"( {hide} bash -c {shlex.quote(now)} & )"], **quiet)
    # Wait for it (not a fixed time): ending first would take it down with the sandbox.
    deadline = time.monotonic() + 60
    while not finished.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def hostile_config(marker: str) -> None:
    # Only outside the agent: the agent's own git runs these too, and that is its business.
    touch = f'test -n "$WORKER_TASK_ID" || touch {marker}; true'
    git("config", "core.fsmonitor", touch)
    git("config", "filter.evil.clean", f"{touch}; cat")
    git("config", "filter.evil.required", "false")
    Path("hooks").mkdir(exist_ok=True)
    hook = Path("hooks/pre-commit")
    hook.write_text(f"#!/bin/sh\n{touch}\n")
    hook.chmod(0o755)
    git("config", "core.hooksPath", str(Path("hooks").resolve()))
    Path(".gitattributes").write_text("* filter=evil\n")


def store_write(victim: str) -> None:
    store = os.environ.get("WORKER_STORE", "")
    if store.startswith("postgres"):  # the PostgreSQL pass of the tests
        import psycopg

        with psycopg.connect(store, autocommit=True) as pg:
            pg.execute("UPDATE tasks SET state = 'cancelled' WHERE id = %s", (victim,))
        print("wrote to the PostgreSQL store", flush=True)
        return
    import sqlite3

    db = main_checkout() / ".git" / "worker" / "worker.db"
    conn = sqlite3.connect(str(db), timeout=30)
    conn.execute("UPDATE tasks SET state = 'cancelled' WHERE id = ?", (victim,))
    conn.commit()
    conn.close()
    print(f"wrote to {db}", flush=True)


def report(status: str, message: str) -> int:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ai_skills.cli.worker_entry",
            "report",
            "--status",
            status,
            "--message",
            message,
        ],
        capture_output=True,
        text=True,
    )
    print(
        f"report {status}: exit {proc.returncode} {proc.stdout.strip()} {proc.stderr.strip()}",
        flush=True,
    )
    return proc.returncode


def edit(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(text)
    return path


def sleep_forever() -> None:
    while True:
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="done")
    parser.add_argument("--release", default="")
    parser.add_argument("--model", default="")
    parser.add_argument("--victim", default="")
    parser.add_argument("--write", action="append", default=[])
    parser.add_argument("--main", default="")
    parser.add_argument("--marker", default="")
    args = parser.parse_args()
    global MAIN
    MAIN = args.main
    prompt = sys.stdin.read()
    task = os.environ["WORKER_TASK_ID"]
    print(
        f"agent for {task} attempt {os.environ['WORKER_ATTEMPT_ID']} "
        f"read {len(prompt)} chars; prompt file {os.environ['WORKER_PROMPT_FILE']}",
        flush=True,
    )
    shown = ("WORKER_PROFILE", "WORKER_MODEL", "PROVIDER", "TOKEN", "WORKER_ALLOW_WRITES")
    values = " ".join(f"{k}={os.environ.get(k, '')}" for k in shown)
    print(values, f"--model={args.model}", flush=True)
    if args.mode == "rate-limit":
        error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
        result = {
            "type": "result",
            "subtype": "error_during_execution",
            "is_error": True,
            "result": "API Error: 429 " + json.dumps(error),
        }
        print(json.dumps(result), flush=True)
        return 1
    if args.mode == "rogue":
        rogue(task)
    if args.mode == "attack":
        attack(task, str(main_checkout()), args.victim)
    if args.mode == "escape":
        (main_checkout() / "escaped.txt").write_text("written by a worker\n")
    if args.mode == "store-write":
        store_write(args.victim)
    if args.mode in ("wait-file", "commit-between"):
        while not Path(args.release).exists():
            time.sleep(0.05)
    if args.mode in ("dirty-hang", "stubborn"):
        if args.mode == "stubborn":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        edit(f"wip-{task}.txt", "half-done work\n")
        print("left uncommitted work", flush=True)
        sleep_forever()
    if args.mode == "empty-done":
        return report("done", "nothing needed changing")
    if args.mode == "hostile-config":
        hostile_config(args.marker)
    if args.mode == "sneaky-children":
        loop = [sys.executable, "-c", "import time\nwhile True: time.sleep(0.2)"]
        subprocess.Popen(["setsid", *loop], stdin=subprocess.DEVNULL)
        subprocess.Popen(loop, stdin=subprocess.DEVNULL)
        print("children started", flush=True)
    if args.mode == "orphan-maker":
        child = subprocess.Popen(
            [sys.executable, "-c", "import time\nwhile True: time.sleep(0.2)"],
            stdin=subprocess.DEVNULL,
        )
        print(f"child pid {child.pid}", flush=True)
    for name in args.write or [f"work-{task}.txt"]:
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        edit(name, f"work of {task}, attempt {os.environ['WORKER_ATTEMPT_ID']}\n")
    git("add", "-A")
    git("commit", "-q", "-m", f"agent work for {task}")
    print("committed", flush=True)
    if args.mode in ("hang", "orphan-maker", "sneaky-children"):
        sleep_forever()
    if args.mode == "commit-between":
        while not Path(args.release + ".then").exists():
            time.sleep(0.05)
    if args.mode == "hostile-config":
        edit("left-over.txt", "not committed\n")
    if args.mode == "crash":
        return 3
    if args.mode == "silent":
        return 0
    if args.mode == "blocked":
        report("blocked", "no access to the API key")
        return 0
    if args.mode == "needs-input":
        report("needs-input", "which database should I use?")
        return 0
    if args.mode == "ask-and-wait":
        report("needs-input", "which database should I use?")
        time.sleep(300)  # an interactive agent that waits for its answer
        return 0
    report("working", "committed the change")
    return report("done", "work committed")


if __name__ == "__main__":
    sys.exit(main())
