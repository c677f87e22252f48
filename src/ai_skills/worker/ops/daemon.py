"""`worker daemon`: the tick pass in the background, one per repository (pid file + token).

With `--host NAME` the daemon is one host of several sharing a PostgreSQL store (docs/worker.md,
Several hosts): the clone remembers the host (hosts.py), and the daemon keeps the host's row
and lease in the store, renewed beside the passes so a slow pass never lets it run out.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from ai_skills.util.fs import acquire_flock, atomic_write_text
from ai_skills.util.git import git_env
from ai_skills.util.results import JsonResult
from ai_skills.worker.context import RepoContext, find_repo
from ai_skills.worker.errors import StoreUnavailableError
from ai_skills.worker.hosts import Host, remember_host, this_host
from ai_skills.worker.process_identity import is_alive, start_token, stop_process


@dataclass(frozen=True)
class DaemonStatus(JsonResult):
    """Whether the daemon of a repository runs."""

    running: bool
    pid: int | None
    pid_file: str
    log_file: str
    note: str = ""
    host: str | None = None  # the host this clone is (`--host`), None: one machine
    labels: list[str] | None = None
    max_running: int | None = None

    def with_host(self, host: Host | None) -> DaemonStatus:
        """The same status naming the host this clone is."""
        if host is None:
            return self
        return replace(
            self, host=host.name, labels=list(host.labels), max_running=host.max_running
        )


def pid_file(ctx: RepoContext) -> Path:
    """`{"pid", "token"}` of the running daemon."""
    return ctx.worker_dir / "daemon.pid"


def log_file(ctx: RepoContext) -> Path:
    """Where the daemon writes what each pass changed."""
    return ctx.worker_dir / "daemon.log"


def _read_pid(ctx: RepoContext) -> tuple[int | None, str | None]:
    try:
        data = json.loads(pid_file(ctx).read_text())
        return int(data["pid"]), str(data["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def daemon_status(ctx: RepoContext) -> DaemonStatus:
    """Running only when the pid file names a live process with the recorded start token."""
    pid, token = _read_pid(ctx)
    alive = is_alive(pid, token)
    note = "" if alive or pid is None else f"stale pid file (pid {pid} is gone)"
    status = DaemonStatus(
        alive, pid if alive else None, str(pid_file(ctx)), str(log_file(ctx)), note
    )
    return status.with_host(this_host(ctx.worker_dir))


def prepare_host(ctx: RepoContext, host: Host) -> str | None:
    """Make this clone `host`: the store must be PostgreSQL, shared by the hosts; a clone
    without a repository id takes the database's (store/opening.py). Returns the id adopted.

    Refused while the daemon runs: it reads the host once, at its start.
    """
    from ai_skills.worker.store.opening import join_database, open_store
    from ai_skills.worker.store.setting import ENV_VAR, resolve_store

    setting = resolve_store(ctx.config_path, os.environ)
    if not setting.is_postgresql:
        where = setting.origin if setting.origin == ENV_VAR else f"{setting.origin}: store"
        raise StoreUnavailableError(
            where=where,
            detail=(
                "--host needs a PostgreSQL store that every host shares (`store = "
                '"postgresql://..."` in .worker.toml, or WORKER_STORE); this repository uses '
                "SQLite, a file in .git/worker that cannot be shared between machines"
            ),
        )
    adopted = join_database(ctx)
    open_store(ctx).close()  # refused here (another repository's database) before it is kept
    if not daemon_status(ctx).running:
        remember_host(ctx.worker_dir, host)
    return adopted


def start_daemon(ctx: RepoContext) -> DaemonStatus:
    """Start the daemon unless it already runs (idempotent)."""
    current = daemon_status(ctx)
    if current.running:
        return replace(current, note="already running")
    ctx.worker_dir.mkdir(parents=True, exist_ok=True)
    with open(log_file(ctx), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ai_skills.worker.ops.daemon", "--repo", str(ctx.repo_root)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=git_env(),
            cwd=ctx.repo_root,
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = daemon_status(ctx)
        if status.running:
            return replace(status, note="started")
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    return DaemonStatus(
        False,
        None,
        str(pid_file(ctx)),
        str(log_file(ctx)),
        f"daemon did not start; see {log_file(ctx)}",
    ).with_host(this_host(ctx.worker_dir))


def stop_daemon(ctx: RepoContext, *, grace: float = 10.0) -> DaemonStatus:
    """Stop the daemon if it runs; remove its pid file."""
    pid, token = _read_pid(ctx)
    outcome = stop_process(pid, token, grace=grace)
    pid_file(ctx).unlink(missing_ok=True)
    note = "was not running" if outcome == "gone" else f"stopped ({outcome})"
    status = DaemonStatus(False, None, str(pid_file(ctx)), str(log_file(ctx)), note)
    return status.with_host(this_host(ctx.worker_dir))


def _claim_pid_file(ctx: RepoContext) -> int | None:
    """Hold the daemon lock for the life of the process; None when another daemon has it."""
    fd = acquire_flock(ctx.worker_dir / "daemon.lock", wait=0, mode=0o644)
    if fd is None:
        return None
    record = json.dumps({"pid": os.getpid(), "token": start_token(os.getpid())})
    atomic_write_text(pid_file(ctx), record, durable=False)
    return fd


def run_loop(repo: Path) -> int:
    """The daemon body: tick every `tick_seconds` until SIGTERM; hooks in a thread."""
    from ai_skills.worker.config import load_config
    from ai_skills.worker.ops.tick import tick
    from ai_skills.worker.store import open_store

    ctx = find_repo(repo)
    if _claim_pid_file(ctx) is None:
        return 0
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    # A slow hook must not hold up liveness and admission, so hooks run beside the ticks.
    hooks = threading.Thread(target=_hook_loop, args=(ctx, stopping), daemon=True)
    hooks.start()
    host = this_host(ctx.worker_dir)
    lease: threading.Thread | None = None
    if host is not None:
        lease = threading.Thread(target=_lease_loop, args=(ctx, host, stopping), daemon=True)
        lease.start()
    conn = open_store(ctx)
    while not stopping.is_set():
        tick_seconds = 5.0
        try:
            config = load_config(ctx.config_path)
            tick_seconds = config.tick_seconds
            report = tick(ctx, conn, config)
            if report.stalled or report.started or report.errors:
                print(json.dumps({"at": time.time(), **report.as_dict()}, default=str), flush=True)
        except Exception:  # the daemon must outlive one bad pass; the log keeps the trace
            traceback.print_exc()
        stopping.wait(tick_seconds)
    hooks.join(timeout=HOOK_POLL * 4)
    if lease is not None:
        lease.join(timeout=HOOK_POLL * 4)
    pid_file(ctx).unlink(missing_ok=True)
    return 0


def _lease_loop(ctx: RepoContext, host: Host, stopping: threading.Event) -> None:
    """Register the host, renew its lease until the daemon stops, then end it.

    Beside the passes: a pass that waits on git or a launch must not let the lease run out.
    Ending it on a clean stop is safe: the host's supervisors keep their attempts' own leases.
    """
    from ai_skills.worker import hosts
    from ai_skills.worker.config import load_config
    from ai_skills.worker.store import open_store

    conn = open_store(ctx)
    registered = False
    every = 1.0
    while not stopping.is_set():
        try:
            config = load_config(ctx.config_path)
            every = min(config.heartbeat_seconds, config.lease_seconds / 3)
            if registered:
                hosts.renew(conn, host, lease_seconds=config.lease_seconds)
            else:
                hosts.register(conn, host, lease_seconds=config.lease_seconds)
                registered = True
        except Exception:  # a store that is away for a moment must not end the daemon
            traceback.print_exc()
        stopping.wait(every)
    try:
        hosts.release(conn, host.name)
    except Exception:
        traceback.print_exc()


HOOK_POLL = 0.5  # seconds: how soon the hook thread notices the daemon stopping


def _hook_loop(ctx: RepoContext, stopping: threading.Event) -> None:
    """Run hook_command for new transitions, taking turns with every other runner (other
    daemons and `worker watch`es, here or on other hosts): ops/hooks.py.

    Waits on the store's event waiter between looks: PostgreSQL wakes it on each new event,
    SQLite's looks every half second."""
    from ai_skills.worker.config import load_config
    from ai_skills.worker.ops.hooks import HookRunner
    from ai_skills.worker.store import open_store

    conn = open_store(ctx)
    waiter = conn.event_waiter()
    runner = HookRunner(ctx.repo_root)
    unreachable = False
    while not stopping.is_set():
        try:
            command = load_config(ctx.config_path).hook_command
            for run in runner.run_due(conn, command, stop=stopping.is_set) if command else []:
                if run.exit_code != 0:
                    print(
                        f"hook_command exited with {run.exit_code} on event {run.seq}", flush=True
                    )
            unreachable = False
        except waiter.transient as exc:  # a store restart: one line, then wait it out
            if not unreachable:
                print(f"hooks: the store is unreachable ({type(exc).__name__})", flush=True)
            unreachable = True
        except Exception:  # a bad config or hook must not end the daemon
            traceback.print_exc()
        waiter.wait(waiter.poll_seconds, stopping.is_set)
    waiter.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m ai_skills.worker.ops.daemon`."""
    parser = argparse.ArgumentParser(prog="worker-daemon")
    parser.add_argument("--repo", type=Path, required=True)
    args = parser.parse_args(argv)
    return run_loop(args.repo)


if __name__ == "__main__":
    sys.exit(main())
