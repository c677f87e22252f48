"""The processes of an attempt: its agent and what the agent started in its process group.

The supervisor starts each agent as the leader of a new process group. Children the agent
starts stay in that group unless they leave it on purpose (`setsid`), so they can be found
in /proc and stopped with one signal, also after the agent itself has died: a killed
supervisor and agent leave their children running beside the next attempt otherwise.

Once the leader is gone its pid names the group only while a member is left, and Linux
does not hand that pid to a new process meanwhile. After the whole group is gone the number
may come back as someone else's group, so a member counts only with evidence that it is
ours: it started after the agent (same boot) and carries the attempt's `WORKER_ATTEMPT_ID`
in its environment or works inside the attempt's worktree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from ai_skills.worker.process_identity import boot_id, is_alive, signal_group, stat_fields
from ai_skills.worker.store import Db
from ai_skills.worker.tasks import Attempt, get_attempt, record_event

_PROC = Path("/proc")

Groups = dict[int, list[tuple[int, int]]]  # process group id -> [(pid, start time)]


def process_groups() -> Groups:
    """Every live (not zombie) process, by process group, with its start time in ticks."""
    groups: Groups = {}
    try:
        names = os.listdir(_PROC)
    except OSError:
        return groups
    for name in names:
        if not name.isdigit():
            continue
        fields = stat_fields(name)
        if fields is None or len(fields) < 20 or fields[0] in ("Z", "X"):
            continue
        groups.setdefault(int(fields[2]), []).append((int(name), int(fields[19])))
    return groups


def may_run(attempt: Attempt) -> bool:
    """A cheap first look (no /proc scan): False when nothing of the attempt can be running."""
    if not attempt.agent_pid:
        return False
    if is_alive(attempt.agent_pid, attempt.agent_token):
        return True
    try:
        os.killpg(attempt.agent_pid, 0)  # does any process still have this group id?
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _started(token: str | None) -> int | None:
    """The start time in a `<boot id>:<ticks>` token of this boot, else None."""
    if not token or ":" not in token:
        return None
    boot, _, ticks = token.rpartition(":")
    return int(ticks) if boot == boot_id() and ticks.isdigit() else None


def _carries_marks(pid: int, attempt: Attempt) -> bool:
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        environ = []
    if f"WORKER_ATTEMPT_ID={attempt.id}".encode() in environ:
        return True
    try:
        cwd = (_PROC / str(pid) / "cwd").resolve()
    except OSError:
        return False
    worktree = Path(attempt.worktree).resolve()
    return cwd == worktree or worktree in cwd.parents


def attempt_processes(attempt: Attempt, groups: Groups | None = None) -> list[int]:
    """The live processes of an attempt's agent group (the agent first when it runs)."""
    if not attempt.agent_pid:
        return []
    members = (process_groups() if groups is None else groups).get(attempt.agent_pid, [])
    if not members and not is_alive(attempt.agent_pid, attempt.agent_token):
        return []
    if is_alive(attempt.agent_pid, attempt.agent_token):
        # A live leader makes the whole group ours, marked or not.
        return [attempt.agent_pid, *sorted(p for p, _ in members if p != attempt.agent_pid)]
    born = _started(attempt.agent_token)
    if born is None:
        return []  # recorded in another boot: nothing of it can still run
    return sorted(pid for pid, start in members if start >= born and _carries_marks(pid, attempt))


def _is_sandbox(pid: int) -> bool:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip() == "bwrap"
    except OSError:
        return False


def _term(attempt: Attempt, members: list[int]) -> None:
    """TERM the group; under bubblewrap, every member but bwrap itself.

    bwrap does not pass signals on: TERM kills it at once, and with it (`--die-with-parent`,
    the pid namespace) everything in the sandbox by SIGKILL, with no grace. Its members get
    the TERM instead; when the agent exits, bwrap follows with the agent's exit code.
    """
    assert attempt.agent_pid is not None
    if not _is_sandbox(attempt.agent_pid):
        signal_group(attempt.agent_pid, signal.SIGTERM)
        return
    for pid in members:
        if pid != attempt.agent_pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)


def launched(conn: Db, attempt: Attempt, *, timeout: float = 5) -> Attempt:
    """The attempt once its supervisor has recorded its agent (or ended, or died).

    A supervisor still launching records its agent in a moment; stopping before that would
    leave the agent orphaned instead of stopped by its (pid, token).
    """
    deadline = time.monotonic() + timeout
    while (
        attempt.agent_pid is None
        and attempt.ended_at is None
        and is_alive(attempt.supervisor_pid, attempt.supervisor_token)
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
        attempt = get_attempt(conn, attempt.id) or attempt
    return attempt


def stop_attempt_processes(attempt: Attempt, *, grace: float, poll: float = 0.05) -> str:
    """TERM the attempt's agent group, wait up to `grace`, then KILL what is left.

    Returns "gone" (nothing ran), "terminated" or "killed".
    """
    members = attempt_processes(attempt)
    if not members:
        return "gone"
    assert attempt.agent_pid is not None
    _term(attempt, members)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not attempt_processes(attempt):
            return "terminated"
        time.sleep(poll)
    signal_group(attempt.agent_pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while attempt_processes(attempt) and time.monotonic() < deadline:
        time.sleep(poll)
    return "killed"


def record_agent_stopped(conn: Db, attempt: Attempt, outcome: str, **why: str) -> bool:
    """Record an `agent_stopped` event when the stop found something running (`outcome`
    of `stop_attempt_processes` other than "gone"); whether it did."""
    if outcome == "gone":
        return False
    record_event(conn, kind="agent_stopped", task_id=attempt.task_id, attempt_id=attempt.id,
                 data={"outcome": outcome, "pid": attempt.agent_pid, **why})  # fmt: skip
    return True
