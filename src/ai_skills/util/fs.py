"""Atomic file and link writes, and an advisory lock for multi-step changes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ai_skills.errors import LockBusyError

# Temporary names carry this marker so a run killed mid-write can be recognised and healed.
TEMP_MARKER = ".ai-skills-tmp-"


def shown_path(path: Path, base: Path | None) -> str:
    """`path` relative to `base` when inside it (shorter messages), else absolute."""
    if base is not None and path.is_relative_to(base):
        return str(path.relative_to(base))
    return str(path)


def temp_sibling(target: Path) -> Path:
    """A hidden temporary name in the target's own folder (same file system for rename)."""
    return target.with_name(f".{target.name}{TEMP_MARKER}{os.getpid()}")


def is_temp_name(name: str) -> bool:
    """True for names made by `temp_sibling`."""
    return name.startswith(".") and TEMP_MARKER in name


def writer_alive(temp_name: str) -> bool:
    """True while the process that made a temporary name may still rename it into place."""
    pid_text = temp_name.rsplit("-", 1)[-1]
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder: Path) -> None:
    """Delete temporary files that a killed writer left in `folder` (not links: see deploy)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = folder / name
        if is_temp_name(name) and not path.is_symlink() and not writer_alive(name):
            with contextlib.suppress(OSError):
                path.unlink()


def atomic_symlink(target: Path, points_to: str) -> None:
    """Make `target` a symlink to `points_to`, replacing what is there in one rename."""
    temp = temp_sibling(target)
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    os.symlink(points_to, temp)
    os.replace(temp, target)


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write `text` to `path` so readers see the old or the new content, never a part."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` so readers see the old or the new content, never a part.

    `durable=False` skips the fsync, for state that its readers rebuild or treat
    conservatively when a power cut leaves it empty (deploy records, stamps, caches).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_sibling(path)
    with open(temp, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temp, path)


def acquire_flock(
    lock_path: Path, *, wait: float, poll: float = 0.02, mode: int = 0o666
) -> int | None:
    """An fd holding an exclusive flock on `lock_path` (created if needed), retrying for
    `wait` seconds; None (the fd closed) when another process still holds it.

    Closing the fd releases the lock, and so does the holder's death: no stale lock files.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, mode)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(poll)


@contextlib.contextmanager
def file_lock(lock_path: Path, *, timeout: float = 30.0) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created if needed) for the block."""
    fd = acquire_flock(lock_path, wait=timeout)
    if fd is None:
        raise LockBusyError(
            f"{lock_path}: another ai-skills run has been busy here for "
            f"{timeout:.0f}s; try again when it has finished"
        )
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
