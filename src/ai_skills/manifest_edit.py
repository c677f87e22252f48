"""Surgical edits of a repo's `.skills`: append one line, drop the lines naming a skill, or
set the `agents:` line.

Everything else in the file (comments, order, blank lines, a missing final newline) is
kept byte for byte.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ai_skills.fsutil import atomic_write_bytes
from ai_skills.manifest import AGENTS_PREFIX, parse_manifest


def _line_name(line: bytes) -> str:
    return line.decode("utf-8", "replace").split("#", 1)[0].strip()


def add_name(path: Path, name: str) -> bool:
    """Append `name` as its own line unless the manifest already lists it; True if written."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    if name in parse_manifest(data.decode("utf-8", "replace")).names:
        return False
    prefix = b"" if not data or data.endswith(b"\n") else b"\n"
    atomic_write_bytes(path, data + prefix + name.encode("utf-8") + b"\n")
    return True


def remove_name(path: Path, name: str) -> bool:
    """Delete the lines that name `name` (with their comments); True if written."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    lines = data.splitlines(keepends=True)
    kept = [line for line in lines if _line_name(line) != name]
    if len(kept) == len(lines):
        return False
    atomic_write_bytes(path, b"".join(kept))
    return True


def set_agents(path: Path, names: list[str]) -> bool:
    """Make the `agents:` line name `names`: rewrite that one line (keeping its comment), or
    insert it as the first line; True if written."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    text = b"agents: " + ", ".join(names).encode("utf-8")
    lines = data.splitlines(keepends=True)
    for index, line in enumerate(lines):
        # NFKC, as the parser reads it: a full-width `ａｇｅｎｔｓ:` is the same line.
        if unicodedata.normalize("NFKC", _line_name(line)).startswith(AGENTS_PREFIX):
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
