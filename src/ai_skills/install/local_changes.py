"""Uncommitted changes in a skill folder of a local source (`ai-skills add ./path`).

Installs are pinned to a commit, so edits not yet committed are not installed. A user who
adds a folder they are editing expects those edits; say what is left out, and how to
include it, rather than pin the last commit in silence. When the folder on disk holds
exactly the commit's files (the usual case), that is seen without running `git status`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from ai_skills.errors import CommandError
from ai_skills.install.source_git import SAFE_GIT_CONFIG, SAFE_GIT_ENV
from ai_skills.util.git import run_git

if TYPE_CHECKING:
    from ai_skills.install.sources import GitEntry

# Enough names to find the change; the count says how many there are in all.
_SHOWN = 5
# Above this many bytes in the folder, hashing it costs more than asking git (whose index
# remembers what it hashed).
_HASH_LIMIT = 1 << 20
_FILE_MODES = {"100644": False, "100755": True}  # git mode -> executable


def changed_files(top: Path, folder: str) -> list[str]:
    """Paths (relative to `folder`) that differ from HEAD in the work tree at `top`."""
    # --no-optional-locks: status would otherwise refresh the user's index, a write to
    # their repository that nobody asked for.
    args = [*SAFE_GIT_CONFIG, "--no-optional-locks", "--literal-pathspecs", "status",
            "--porcelain=v1", "-z",
            "--untracked-files=all", "--no-renames", "--", folder or "."]
    try:
        out = run_git(args, cwd=top, env=SAFE_GIT_ENV).stdout
    except (CommandError, OSError):
        return []  # a bare repository, or not one at all: nothing uncommitted to speak of
    prefix = f"{folder}/" if folder else ""
    return [record[3:].removeprefix(prefix) for record in out.split("\0") if len(record) > 3]


def matches_commit(top: Path, folder: str, entries: Sequence[GitEntry]) -> bool:
    """True when the work tree's `folder` holds exactly the commit's files there (`entries`:
    the commit's tree), with the same bytes, links and executable bits.

    Then `git status` has nothing to report in it. Any difference (and a nested repository,
    a large folder, a special file) answers False: only git can say what counts.
    """
    prefix = f"{folder}/" if folder else ""
    wanted = {e.path[len(prefix):]: e for e in entries if e.path.startswith(prefix)}
    root = top / folder if folder else top
    found = 0
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if ".git" in dirnames:
            if dirpath != str(top):
                return False  # a repository inside: git status shows it its own way
            dirnames.remove(".git")
        # os.walk lists a link to a folder with the folders; git stores it as a link.
        links = [name for name in dirnames if os.path.islink(os.path.join(dirpath, name))]
        for name in [*filenames, *links]:
            path = os.path.join(dirpath, name)
            entry = wanted.get(os.path.relpath(path, root).replace(os.sep, "/"))
            if entry is None:
                return False
            info = os.lstat(path)
            total += info.st_size
            data = _content(path, info, entry.mode) if total <= _HASH_LIMIT else None
            if data is None or hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() \
                    != entry.oid:
                return False
            found += 1
    return found == len(wanted)


def _content(path: str, info: os.stat_result, mode: str) -> bytes | None:
    """What git stores for `path` as `mode` (a link's target, a file's bytes), or None when
    the kind or the executable bit differs."""
    if stat.S_ISLNK(info.st_mode):
        return os.fsencode(os.readlink(path)) if mode == "120000" else None
    if not stat.S_ISREG(info.st_mode) or \
            _FILE_MODES.get(mode) != bool(info.st_mode & stat.S_IXUSR):
        return None
    return _read_regular(path)


def _read_regular(path: str) -> bytes | None:
    """The bytes of a regular file, None if it is something else by now (never blocks on
    a FIFO, never follows a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(_HASH_LIMIT + 1)


def uncommitted_warning(
    url: str, folder: str, *, name: str, commit: str, entries: Sequence[GitEntry] = ()
) -> str | None:
    """A warning when `url` is a local work tree whose `folder` has uncommitted changes
    (`entries`, the commit's tree, spares the `git status` when nothing changed)."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    top = Path(unquote(parsed.path))
    if not (top / ".git").exists():
        return None
    if entries and matches_commit(top, folder, entries):
        return None
    changed = changed_files(top, folder)
    if not changed:
        return None
    shown = ", ".join(changed[:_SHOWN]) + (", ..." if len(changed) > _SHOWN else "")
    return (
        f"{top / folder if folder else top}: {len(changed)} uncommitted change(s) ({shown}) "
        f"are not in the pinned commit {commit[:12]}; to include them, commit them "
        f"(git -C {top} commit) and run `ai-skills update {name}`"
    )
