"""Process identity and signals: a pid alone is never proof, pid plus start token is."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

_PROC = Path("/proc")


def boot_id() -> str:
    """This boot's id; a token from another boot never matches (the "reboot" case)."""
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may contain spaces and parentheses; split after the last ')'.
    rest = raw[raw.rfind(")") + 2 :].split()
    return rest  # rest[0] is field 3 (state)


def start_token(pid: int) -> str | None:
    """`<boot id>:<start time>` (field 22 of /proc/PID/stat), or None if no such process."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return f"{boot_id()}:{fields[19]}"


def is_alive(pid: int | None, token: str | None) -> bool:
    """True only when `pid` runs and is the very process that `token` was taken from."""
    if not pid or not token:
        return False
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return f"{boot_id()}:{fields[19]}" == token


def _group_is_ours(pid: int, token: str | None) -> bool:
    fields = _stat_fields(pid)
    if fields is None:
        return True
    return fields[0] == "Z" and f"{boot_id()}:{fields[19]}" == token


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to a process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def stop_group(pid: int, token: str | None, *, grace: float, poll: float = 0.05) -> str:
    """TERM the process group led by `pid`, wait up to `grace`, then KILL.

    Returns what happened: "gone" (nothing to stop), "terminated" or "killed".
    """
    if not is_alive(pid, token):
        # The leader is gone but children may still hold its group. Linux never hands out
        # a pid equal to a live group id, so the group is ours unless the pid was reused.
        if _group_is_ours(pid, token) and signal_group(pid, signal.SIGKILL):
            return "killed"
        return "gone"
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid, token):
            signal_group(pid, signal.SIGKILL)  # stragglers that ignored TERM
            return "terminated"
        time.sleep(poll)
    signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_alive(pid, token) and time.monotonic() < deadline:
        time.sleep(poll)
    return "killed"


def stop_process(pid: int | None, token: str | None, *, grace: float) -> str:
    """TERM one process (checked by token), then KILL after `grace`."""
    if not pid or not is_alive(pid, token):
        return "gone"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "gone"
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid, token):
            return "terminated"
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "terminated"
    return "killed"
