"""Surgical edits of a repo's `.skills`: append lines, drop the lines naming a skill, or
set the `agents:` line.

Everything else in the file (comments, order, blank lines, a missing final newline) is
kept byte for byte, and the file is replaced atomically. Callers hold the scope's lock
(`install.locked`), so two edits never start from the same old text. A `.skills` that is a
symlink is refused rather than followed: a committed link could point at any file of the
user's, whose text would then be copied into the repository.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from ai_skills.deploy.manifest import AGENTS_PREFIX, MAX_MANIFEST_BYTES, parse_manifest
from ai_skills.errors import ManifestError
from ai_skills.util.fs import atomic_write_bytes
from ai_skills.util.textfiles import read_bytes


def problem(path: Path) -> str | None:
    """Why `path` cannot be edited (a folder, a symlink, unreadable), or None."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: cannot read it ({exc.strerror})"
    if stat.S_ISLNK(mode):
        return (f"{path}: is a symlink; ai-skills edits only a plain file: replace the link "
                "with a copy of the file it points to")
    if stat.S_ISDIR(mode):
        return f"{path}: is a folder, not a file; move it aside so ai-skills can list skills in it"
    if not stat.S_ISREG(mode):
        return f"{path}: is not a regular file; move it aside"
    if not os.access(path, os.R_OK | os.W_OK):
        return f"{path}: cannot be read and written by this user; fix its permissions"
    return None


def check_editable(path: Path) -> None:
    """Raise before anything changes when `path` could not be edited later."""
    reason = problem(path)
    if reason is not None:
        raise ManifestError(f"{reason}; nothing was changed")


def _read(path: Path) -> bytes:
    reason = problem(path)
    if reason is not None:
        raise ManifestError(reason)
    try:
        # Bounded as `use-skills` reads it: a huge `.skills` is refused, not read and rewritten.
        return read_bytes(path, error=ManifestError, fix="nothing was changed",
                          max_bytes=MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return b""


def _line_name(line: bytes) -> str:
    # NFKC, as `parse_manifest` compares names.
    return unicodedata.normalize("NFKC", line.decode("utf-8", "replace").split("#", 1)[0].strip())


def add_names(path: Path, names: Iterable[str]) -> list[str]:
    """Append each name the manifest does not list yet, one line each; the names added."""
    data = _read(path)
    listed = set(parse_manifest(data.decode("utf-8", "replace")).names)
    missing = [name for name in dict.fromkeys(names) if name not in listed]
    if not missing:
        return []
    prefix = b"" if not data or data.endswith(b"\n") else b"\n"
    lines = b"".join(name.encode("utf-8") + b"\n" for name in missing)
    atomic_write_bytes(path, data + prefix + lines)
    return missing


def add_name(path: Path, name: str) -> bool:
    """Append `name` as its own line unless the manifest already lists it; True if written."""
    return bool(add_names(path, [name]))


def remove_name(path: Path, name: str) -> bool:
    """Delete the lines that name `name` (with their comments); True if written."""
    if not os.path.lexists(path):
        return False
    lines = _read(path).splitlines(keepends=True)
    kept = [line for line in lines if _line_name(line) != name]
    if len(kept) == len(lines):
        return False
    atomic_write_bytes(path, b"".join(kept))
    return True


def set_agents(path: Path, names: list[str]) -> bool:
    """Make the `agents:` line name `names`: rewrite that one line (keeping its comment), or
    insert it as the first line; True if written."""
    data = _read(path)
    text = b"agents: " + ", ".join(names).encode("utf-8")
    lines = data.splitlines(keepends=True)
    for index, line in enumerate(lines):
        # NFKC (in `_line_name`), as the parser reads it: `ａｇｅｎｔｓ:` is the same line.
        if _line_name(line).startswith(AGENTS_PREFIX):
            body = line.rstrip(b"\r\n")
            comment = body[body.index(b"#"):] if b"#" in body else b""
            new = text + (b"  " + comment if comment else b"") + line[len(body):]
            if new == line:
                return False
            lines[index] = new
            break
    else:
        lines.insert(0, text + b"\n")
    atomic_write_bytes(path, b"".join(lines))
    return True
