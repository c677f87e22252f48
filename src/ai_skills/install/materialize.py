"""Turn one skill folder of a fetched commit into files, refusing anything unsafe.

Every check runs on git's own listing before a byte is written, and symlinks are checked
again on disk (a chain of in-folder links can still climb out). The limits below are far
above what a real skill needs (instructions, a few scripts and references) and low enough
that a hostile or mistaken source cannot fill a disk.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import NamedTuple

from ai_skills.errors import AiSkillsError
from ai_skills.install.sources import GitEntry
from ai_skills.skills.validation import SKILL_FILE

# One file: a large reference PDF or a bundled binary tool still fits; a disk-filler does not.
MAX_FILE_BYTES = 10 * 1024 * 1024
# A whole skill: several such files at most. Agents load skills into context; bigger is a bug.
MAX_TOTAL_BYTES = 50 * 1024 * 1024
# File count: skills are small folders; thousands of files means a vendored tree by mistake.
MAX_FILES = 2000

_GIT_FILE_MODES = {"100644": "644", "100755": "755", "120000": "link"}


class UnsafeSkillError(AiSkillsError):
    """A skill in a source contains something we will not install."""


class PlannedFile(NamedTuple):
    """One file or symlink of a skill: path inside the skill, kind/mode, git object."""

    rel: str
    mode: str  # '644', '755' or 'link'
    oid: str


def plan_files(entries: list[GitEntry], folder: str, *, where: str) -> list[PlannedFile]:
    """The skill's files from the commit listing; raise naming the first unsafe entry."""
    prefix = f"{folder}/" if folder else ""
    planned = []
    for entry in entries:
        if not entry.path.startswith(prefix):
            continue
        rel = entry.path[len(prefix) :]
        _check_rel_path(rel, where=f"{where}{entry.path}")
        mode = _GIT_FILE_MODES.get(entry.mode)
        if mode is None:
            what = "a submodule" if entry.mode == "160000" else f"git mode {entry.mode}"
            raise UnsafeSkillError(
                f"{where}{entry.path}: is {what}; skills are installed without submodules "
                "or special files, so this skill is refused"
            )
        planned.append(PlannedFile(rel, mode, entry.oid))
    if len(planned) > MAX_FILES:
        raise UnsafeSkillError(
            f"{where}{folder or '.'}: {len(planned)} files; a skill may hold at most {MAX_FILES}"
        )
    skill_md = [p for p in planned if p.rel == SKILL_FILE]
    if skill_md and skill_md[0].mode == "link":
        raise UnsafeSkillError(
            f"{where}{prefix}{SKILL_FILE}: is a symlink; Codex ignores a symlinked SKILL.md, "
            "so the skill must ship a real file"
        )
    return planned


def _check_rel_path(rel: str, *, where: str) -> None:
    parts = rel.split("/")
    if rel.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise UnsafeSkillError(f"{where}: path is absolute or contains '..'; refused")
    if any(part.lower() == ".git" for part in parts) or "\\" in rel:
        raise UnsafeSkillError(f"{where}: path names '.git' or holds a backslash; refused")


def check_sizes(files: list[PlannedFile], sizes: dict[str, int], *, where: str) -> None:
    """Refuse files over MAX_FILE_BYTES and skills over MAX_TOTAL_BYTES."""
    total = 0
    for planned in files:
        size = sizes[planned.oid]
        if size > MAX_FILE_BYTES:
            raise UnsafeSkillError(
                f"{where}{planned.rel}: {size} bytes; a skill file may be at most "
                f"{MAX_FILE_BYTES} bytes"
            )
        total += size
    if total > MAX_TOTAL_BYTES:
        raise UnsafeSkillError(
            f"{where}: {total} bytes in all; a skill may hold at most {MAX_TOTAL_BYTES} bytes"
        )


def check_links(files: list[PlannedFile], blobs: dict[str, bytes], *, where: str) -> None:
    """Refuse symlinks that are absolute or lead outside the skill folder, also through
    chains of links (each followed the way the OS would, before anything is written)."""
    links = {
        p.rel: blobs[p.oid].decode("utf-8", "surrogateescape") for p in files if p.mode == "link"
    }
    for rel, target in sorted(links.items()):
        if not target or target.startswith("/") or _escapes(rel, links):
            raise UnsafeSkillError(
                f"{where}{rel}: symlink points outside the skill folder ({target}); refused"
            )


# More hops than this is a loop (Linux stops at 40 too).
_MAX_LINK_HOPS = 40


def _escapes(rel: str, links: dict[str, str]) -> bool:
    """True when following `rel` (and every link on the way) leaves the skill folder."""
    pending = deque(rel.split("/"))
    current: list[str] = []
    hops = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not current:
                return True
            current.pop()
            continue
        current.append(part)
        target = links.get("/".join(current))
        if target is None:
            continue
        hops += 1
        if hops > _MAX_LINK_HOPS or target.startswith("/"):
            return True
        current.pop()
        pending.extendleft(reversed(target.split("/")))
    return False


def write_files(dest: Path, files: list[PlannedFile], blobs: dict[str, bytes]) -> None:
    """Create `dest` with the planned files; modes are set exactly, not from the umask."""
    dest.mkdir(mode=0o755)
    os.chmod(dest, 0o755)
    # Links last, so no write can go through a link the source planted.
    for planned in sorted(files, key=lambda p: p.mode == "link"):
        path = dest / planned.rel
        _make_parents(dest, path.parent)
        data = blobs[planned.oid]
        if planned.mode == "link":
            os.symlink(data.decode("utf-8", "surrogateescape"), path)
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o755 if planned.mode == "755" else 0o644)


def _make_parents(root: Path, folder: Path) -> None:
    missing = []
    while folder != root and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        os.chmod(path, 0o755)


def check_links_on_disk(dest: Path, files: list[PlannedFile], *, where: str) -> None:
    """Refuse when any symlink, followed through the written files, ends outside `dest`."""
    root = os.path.realpath(dest)
    for planned in files:
        if planned.mode != "link":
            continue
        real = os.path.realpath(dest / planned.rel)
        if real != root and not real.startswith(root + os.sep):
            raise UnsafeSkillError(
                f"{where}{planned.rel}: symlink leads outside the skill folder through other "
                "links; refused"
            )
