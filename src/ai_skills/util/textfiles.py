"""Reading files that strangers write (locks, manifests): bounded, UTF-8, one-line errors.

A lock file or `.skills` arrives in a pull request. Whatever it holds (a folder, a FIFO,
gigabytes, bytes that are not UTF-8, JSON nested 100,000 deep), reading it ends in its text
or in the caller's error class with a message naming the file and saying what to do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ai_skills.errors import AiSkillsError

MAX_TEXT_BYTES = 16 * 1024 * 1024


def read_text(
    path: Path, *, error: type[AiSkillsError], fix: str, max_bytes: int = MAX_TEXT_BYTES
) -> str:
    """The UTF-8 text of the regular file `path`; FileNotFoundError when there is none."""
    data = read_bytes(path, error=error, fix=fix, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); {fix}"
        ) from None


def read_bytes(
    path: Path, *, error: type[AiSkillsError], fix: str, max_bytes: int = MAX_TEXT_BYTES
) -> bytes:
    """The bytes of the regular file `path`, at most `max_bytes`; FileNotFoundError when
    there is none."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{path}: cannot read it ({_reason(exc)}); {fix}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise error(f"{path}: is {what}; {fix}")
        data = _read_at_most(fd, max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read it ({_reason(exc)}); {fix}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise error(f"{path}: larger than {_size(max_bytes)}, too large to be read; {fix}")
    return data


def read_json(path: Path, *, error: type[AiSkillsError], fix: str) -> Any:
    """The parsed JSON of `path`; FileNotFoundError when there is none."""
    import json

    text = read_text(path, error=error, fix=fix)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}); {fix}") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise error(f"{path}: not JSON ({exc}); {fix}") from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply; {fix}") from None


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks = []
    while limit > 0:
        chunk = os.read(fd, min(limit, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        limit -= len(chunk)
    return b"".join(chunks)


def _size(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count / 1024:g} KiB"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
