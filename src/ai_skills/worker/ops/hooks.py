"""`hook_command`: run once per state transition, by whichever runner gets there first.

Runners are the daemon's hook thread and every `worker watch`, on this host or on others
sharing a PostgreSQL store. They take turns through three rows of the `cursors` table:
`hook_command` (the last transition whose hook has run), `hook_command.claim` (the
transition a runner took) and `hook_command.lease` (until when that claim holds, in
milliseconds since the epoch). Taking and finishing a claim are write transactions, which
the store serialises, so two runners never hold the same transition; one hook runs at a
time, in the order of the log.

A runner that dies mid-hook leaves its claim to run out (LEASE_SECONDS, longer than the
hook's TIMEOUT); then the next runner runs that transition's hook again. A hook that ran
to its end is marked done right after, so it is not run again (the one gap: a runner
killed between the hook's exit and that write).

A string runs through `sh -c`, as gates do, so `$(jq ...)` and pipes work; a list runs as
is. The event is the hook's stdin as one JSON object.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ai_skills.worker.ops.watch import Event, event_from_row
from ai_skills.worker.store import Db, Row, transaction
from ai_skills.worker.store import events as event_rows

CURSOR = "hook_command"  # the last transition whose hook has run
CLAIM = "hook_command.claim"  # the transition a runner took
LEASE = "hook_command.lease"  # until when (ms since the epoch) that claim holds
TIMEOUT = 60.0
# A claim outlives its hook's timeout, so only a dead (or frozen) runner loses it; hosts'
# clocks must agree to well within the margin.
LEASE_SECONDS = TIMEOUT + 30.0


@dataclass(frozen=True)
class HookRun:
    """One hook run: the event it was for and how it ended."""

    seq: int
    exit_code: int


def hook_argv(command: str | list[str]) -> list[str]:
    """A string through `sh -c` (like gates), a list as it is."""
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


def _due(conn: Db, now: float) -> Row | None:
    """The next transition to run the hook for, unless another runner's claim holds."""
    marks = event_rows.load_cursors(conn, (CURSOR, CLAIM, LEASE))
    if marks[CLAIM] > marks[CURSOR] and marks[LEASE] > now * 1000:
        return None
    return event_rows.next_transition(conn, marks[CURSOR])


def claim_next(conn: Db, *, now: float | None = None) -> Event | None:
    """The next transition whose hook has not run and nobody runs now, claimed for us;
    None when there is none or another runner's claim still holds."""
    now = time.time() if now is None else now
    if _due(conn, now) is None:  # a read first: most looks find nothing to do
        return None
    with transaction(conn):
        found = _due(conn, now)
        if found is None:
            return None
        event_rows.set_cursor(conn, CLAIM, found["seq"])
        event_rows.set_cursor(conn, LEASE, int((now + LEASE_SECONDS) * 1000))
    return event_from_row(found)


def finish(conn: Db, seq: int) -> None:
    """Mark the hook of transition `seq` as run (the claim is free again)."""
    with transaction(conn):
        event_rows.advance_cursor(conn, CURSOR, seq)


def run_hook(argv: list[str], event: Event, *, cwd: Path, timeout: float = TIMEOUT) -> int:
    """Run the hook with the event as JSON on stdin; its exit code (127: could not run)."""
    try:
        proc = subprocess.run(
            argv,
            input=json.dumps(event.as_dict()),
            text=True,
            cwd=cwd,
            capture_output=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired):
        return 127
    return proc.returncode


class HookRunner:
    """Claims and runs due hooks for one runner process; remembers a run whose done mark
    could not be written (the store was unreachable) and writes it first next time, so a
    hook that ran is not run again after a store outage."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.unrecorded: int | None = None

    def run_due(
        self, conn: Db, command: str | list[str], *, stop: Callable[[], bool] = lambda: False
    ) -> list[HookRun]:
        """Claim and run the hook for each pending transition, until none is left (or
        another runner holds the claim, or `stop()`)."""
        if self.unrecorded is not None:
            finish(conn, self.unrecorded)
            self.unrecorded = None
        argv = hook_argv(command)
        runs: list[HookRun] = []
        while not stop():
            event = claim_next(conn)
            if event is None:
                break
            self.unrecorded = event.seq
            exit_code = run_hook(argv, event, cwd=self.cwd)
            finish(conn, event.seq)
            self.unrecorded = None
            runs.append(HookRun(event.seq, exit_code))
        return runs
