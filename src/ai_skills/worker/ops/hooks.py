"""`hook_command`: run once per state transition, by whichever process gets there first.

The daemon and every `worker watch` take turns through one cursor in the store: a runner
claims the next transition by moving the cursor past it inside a write transaction, so
each transition is handed to exactly one runner, however many watch. A runner that dies
between claiming and running loses that one notification (at most once, never twice).

A string runs through `sh -c`, as gates do, so `$(jq ...)` and pipes work; a list runs as
is. The event is the hook's stdin as one JSON object.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ai_skills.worker.ops.watch import Event, event_from_row
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.store import events as event_rows

CURSOR = "hook_command"  # the shared cursor's name in the `cursors` table
TIMEOUT = 60.0


@dataclass(frozen=True)
class HookRun:
    """One hook run: the event it was for and how it ended."""

    seq: int
    exit_code: int


def hook_argv(command: str | list[str]) -> list[str]:
    """A string through `sh -c` (like gates), a list as it is."""
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


def claim_next(conn: Db) -> Event | None:
    """The next transition nobody has run the hook for, now ours; None when there is none."""
    with transaction(conn):
        found = event_rows.next_transition(conn, event_rows.load_cursor(conn, CURSOR))
        if found is None:
            return None
        event_rows.set_cursor(conn, CURSOR, found["seq"])
    return event_from_row(found)


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


def run_due_hooks(
    conn: Db, command: str | list[str], *, cwd: Path, limit: int = 100
) -> list[HookRun]:
    """Claim and run the hook for pending transitions, up to `limit` of them."""
    argv = hook_argv(command)
    runs: list[HookRun] = []
    while len(runs) < limit:
        event = claim_next(conn)
        if event is None:
            break
        runs.append(HookRun(event.seq, run_hook(argv, event, cwd=cwd)))
    return runs
