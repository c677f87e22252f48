"""Process identity and signals: a pid alone is never proof, pid plus start token is."""

from __future__ import annotations

import os
import time

# `worker status` checks every agent's pid here: plain files, not pathlib, and `signal`
# (which imports `enum`) only where a signal is sent; each costs it more than its work.


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def boot_id() -> str:
    """This boot's id; a token from another boot never matches (the "reboot" case)."""
    try:
        return _read("/proc/sys/kernel/random/boot_id").strip()
    except OSError:
        return "unknown-boot"


def stat_fields(pid: int | str) -> list[str] | None:
    """Fields 3 onwards of /proc/PID/stat (state, parent, group, ...), or None if gone."""
    try:
        raw = _read(f"/proc/{pid}/stat")
    except (OSError, ValueError):
        return None
    # The command name (field 2) may contain spaces and parentheses; split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def start_token(pid: int) -> str | None:
    """`<boot id>:<start time>` (field 22 of /proc/PID/stat), or None if no such process."""
    fields = stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return f"{boot_id()}:{fields[19]}"


def is_alive(pid: int | None, token: str | None) -> bool:
    """True only when `pid` runs and is the very process that `token` was taken from."""
    if not pid or not token:
        return False
    fields = stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return f"{boot_id()}:{fields[19]}" == token


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to a process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def stop_process(pid: int | None, token: str | None, *, grace: float) -> str:
    """TERM one process (checked by token), then KILL after `grace`."""
    import signal

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
