"""A deterministic content hash of an installed skill folder (what the lock file pins).

Algorithm (`sha256:` + hex digest), stable across machines, umasks and file systems:

1. Walk the folder without following symlinks; every entry below it is visited.
2. Directories contribute nothing themselves (git cannot record an empty one); regular
   files and symlinks are sorted by their relative POSIX path, compared as UTF-8 bytes.
3. For each, feed sha256 with NUL-separated fields:
   - regular file: `b"file"`, path, mode, byte length, then the bytes. The mode is `755`
     when any execute bit is set, else `644` (git records only that bit, so a checkout on
     another machine with another umask hashes the same).
   - symlink: `b"link"`, path, link text.
4. Anything else (device, FIFO, socket) is refused: it cannot come from a git tree.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ai_skills.errors import AiSkillsError

HASH_PREFIX = "sha256:"


class UnsafeContentError(AiSkillsError):
    """A folder holds something a skill must not contain."""


class FileState(NamedTuple):
    """What one entry of a folder is: kind ('file'/'link'), mode and content digest."""

    kind: str
    mode: str
    digest: str


def file_mode(st_mode: int) -> str:
    """Git's view of a regular file's mode: executable or not."""
    return "755" if st_mode & 0o111 else "644"


def walk(folder: Path) -> list[tuple[str, Path, os.stat_result]]:
    """(relative posix path, path, lstat) of every file and symlink below `folder`, sorted."""
    found: list[tuple[str, Path, os.stat_result]] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                path = Path(entry.path)
                st = entry.stat(follow_symlinks=False)
                rel = path.relative_to(folder).as_posix()
                if stat.S_ISDIR(st.st_mode):
                    stack.append(path)
                elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    found.append((rel, path, st))
                else:
                    raise UnsafeContentError(
                        f"{path}: not a regular file, folder or symlink (device, FIFO or "
                        "socket); a skill may not contain one"
                    )
    found.sort(key=lambda item: item[0].encode("utf-8"))
    return found


def hash_folder(folder: Path) -> str:
    """The content hash of `folder` (see the module docstring for the algorithm)."""
    digest = hashlib.sha256()
    for rel, path, st in walk(folder):
        name = rel.encode("utf-8")
        if stat.S_ISLNK(st.st_mode):
            target = os.fsencode(os.readlink(path))
            digest.update(b"link\0" + name + b"\0" + target + b"\0")
            continue
        data = path.read_bytes()
        mode = file_mode(st.st_mode).encode()
        digest.update(b"file\0" + name + b"\0" + mode + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return HASH_PREFIX + digest.hexdigest()


def folder_states(folder: Path) -> dict[str, FileState]:
    """Relative path -> FileState for every file and symlink (to show what an update changed)."""
    states: dict[str, FileState] = {}
    for rel, path, st in walk(folder):
        if stat.S_ISLNK(st.st_mode):
            states[rel] = FileState("link", "", os.readlink(path))
        else:
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            states[rel] = FileState("file", file_mode(st.st_mode), sha)
    return states


def diff_states(
    old: Mapping[str, FileState], new: Mapping[str, FileState]
) -> list[tuple[str, str]]:
    """[(change, path)] sorted by path; change is 'added', 'removed', 'modified',
    'mode 644 -> 755' (same bytes), or 'modified, mode 644 -> 755'."""
    changes = [("added", p) for p in new if p not in old]
    changes += [("removed", p) for p in old if p not in new]
    changes += [(_change(old[p], new[p]), p) for p in new if p in old and old[p] != new[p]]
    return sorted(changes, key=lambda c: c[1])


def _change(old: FileState, new: FileState) -> str:
    if old.kind != "file" or new.kind != "file" or old.mode == new.mode:
        return "modified"
    mode = f"mode {old.mode} -> {new.mode}"
    return mode if old.digest == new.digest else f"modified, {mode}"
