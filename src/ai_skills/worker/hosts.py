"""Hosts: labels, which host this clone is, and the per-host lease other daemons judge by.

A host is a machine with a clone of the shared remote whose daemon runs with `--host NAME`
(docs/worker.md, Several hosts). Its name and labels are kept in the clone's worker folder
(`host`), so every command run in that clone (`tick`, `start`, `cancel`, `reconcile`) knows
which attempts are its own: pids mean something only on the machine that started them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ai_skills.errors import UsageError
from ai_skills.util.fs import atomic_write_text
from ai_skills.worker.store import Db, transaction
from ai_skills.worker.store import hosts as host_rows
from ai_skills.worker.tasks import Attempt

HOST_FILE = "host"  # in the worker folder: {"name", "labels", "max_running"} of this clone
MAX_LABELS = 32
MAX_LABEL_LENGTH = 64
# A label is `word` or `key=value`. Labels travel through the store into `status`, `hosts`
# and waiting reasons; a small charset keeps them out of option parsing and terminals.
_WORD = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_LABEL = re.compile(rf"{_WORD}(={_WORD})?")
_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Host:
    """A host daemon as it runs here: its name, labels and WIP limit."""

    name: str
    labels: tuple[str, ...] = ()
    max_running: int = 3

    def missing(self, needs: list[str]) -> list[str]:
        """The labels of `needs` this host does not have."""
        return [label for label in needs if label not in self.labels]


def check_label(label: str, *, where: str) -> str:
    """The label itself, or UsageError saying what a label may be."""
    if len(label) > MAX_LABEL_LENGTH or not _LABEL.fullmatch(label):
        raise UsageError(
            f"{where}: {_shown(label)} is not a label: use `word` or `key=value` of letters, "
            f"digits, '.', '_' and '-', each starting with a letter or digit, at most "
            f"{MAX_LABEL_LENGTH} characters (e.g. gpu, os=linux)"
        )
    return label


def check_labels(labels: list[str] | None, *, where: str) -> list[str]:
    """Checked labels, each once, in the order given."""
    found: list[str] = []
    for label in labels or []:
        if check_label(label, where=where) not in found:
            found.append(label)
    if len(found) > MAX_LABELS:
        raise UsageError(f"{where}: {len(found)} labels; at most {MAX_LABELS}")
    return found


def check_host_name(name: str) -> str:
    """The host name itself, or UsageError."""
    if not _HOST_NAME.fullmatch(name):
        raise UsageError(
            f"--host: {_shown(name)} is not a host name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 64 characters"
        )
    return name


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:80] + "...")


def host_file(worker_dir: Path) -> Path:
    """Where a clone remembers the host it is."""
    return worker_dir / HOST_FILE


def this_host(worker_dir: Path) -> Host | None:
    """The host this clone is (set by `worker daemon start --host`), or None: one machine."""
    try:
        data = json.loads(host_file(worker_dir).read_text(encoding="utf-8"))
        return Host(
            name=check_host_name(str(data["name"])),
            labels=tuple(check_labels(list(data["labels"]), where=str(host_file(worker_dir)))),
            max_running=max(1, int(data["max_running"])),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, UsageError) as exc:
        raise UsageError(
            f"{host_file(worker_dir)}: unreadable ({exc}); run `worker daemon start --host "
            "NAME` again to rewrite it"
        ) from exc


def remember_host(worker_dir: Path, host: Host) -> None:
    """Make this clone `host` for every later command run in it."""
    worker_dir.mkdir(parents=True, exist_ok=True)
    record = {"name": host.name, "labels": list(host.labels), "max_running": host.max_running}
    atomic_write_text(host_file(worker_dir), json.dumps(record) + "\n")


def register(conn: Db, host: Host, *, lease_seconds: float, now: float | None = None) -> None:
    """Record (or refresh) the host's row as its daemon starts, with a fresh lease."""
    now = time.time() if now is None else now
    with transaction(conn):
        host_rows.register_host(
            conn,
            host.name,
            labels=json.dumps(list(host.labels)),
            max_running=host.max_running,
            lease_until=now + lease_seconds,
            now=now,
        )


def renew(conn: Db, host: Host, *, lease_seconds: float, now: float | None = None) -> None:
    """Extend the host's lease (registering it again if its row is gone)."""
    now = time.time() if now is None else now
    with transaction(conn):
        renewed = host_rows.renew_host(conn, host.name, lease_until=now + lease_seconds, now=now)
    if not renewed:
        register(conn, host, lease_seconds=lease_seconds, now=now)


def release(conn: Db, name: str, *, now: float | None = None) -> None:
    """End the host's lease now (its daemon stops on purpose)."""
    with transaction(conn):
        host_rows.end_host_lease(conn, name, now=time.time() if now is None else now)


def lease_until(conn: Db, name: str) -> float | None:
    """When the host's lease runs out (None: it never registered)."""
    row = host_rows.host_row(conn, name)
    return None if row is None or row["lease_until"] is None else float(row["lease_until"])


def lease_ran_out(conn: Db, name: str, *, now: float) -> str:
    """Why the host counts as gone ("" while its lease holds)."""
    until = lease_until(conn, name)
    if until is None:
        return f"host {name} never registered a lease"
    if now <= until:
        return ""
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(until))
    ago = now - until
    return f"host {name} stopped renewing its lease, which ran out at {when} ({ago:.0f}s ago)"


def gone_elsewhere(conn: Db, attempt: Attempt, *, now: float) -> str:
    """Why an attempt of another machine counts as over ("" while it may still run).

    Its pids mean nothing here. It is over when it recorded its end, or when both its host's
    lease (renewed by that host's daemon) and its own (renewed by its supervisor) ran out: a
    host whose daemon was stopped on purpose keeps its supervisors, and they keep their runs.
    """
    if attempt.ended_at is not None:
        return "it ended"
    own = attempt.lease_until is not None and now <= attempt.lease_until
    if own:
        return ""
    if attempt.host is None:
        return "its supervisor stopped renewing its lease (a machine without a host name)"
    return lease_ran_out(conn, attempt.host, now=now)


def is_here(attempt_host: str | None, here: Host | None) -> bool:
    """Whether an attempt's processes would run on this machine (same host, or both none)."""
    return attempt_host == (here.name if here is not None else None)
