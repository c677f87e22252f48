"""Skill folders already found valid, shared by every repo of one user.

A first sync in a new repo or worktree (`worker start` makes one per task) would otherwise
parse every SKILL.md again, and importing YAML alone costs about as much as starting
Python. Entries are keyed by the skill folder's path (its name is part of the verdict) and
hold the SKILL.md fingerprint (mtime_ns, size, inode) it had when it passed. The file is
only a cache: unreadable, from another ai-skills version, or gone, it is simply ignored.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Mapping
from pathlib import Path

import ai_skills
from ai_skills.util.xdg import xdg_home

# Verdicts depend on the validator, so a different package (version or location) starts over.
_STAMP = f"{ai_skills.__version__}:{os.path.dirname(os.path.abspath(ai_skills.__file__))}"


def cache_path(env: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/ai-skills/verified.marshal` (default `~/.cache/...`)."""
    return Path(xdg_home(env, "XDG_CACHE_HOME")) / "ai-skills" / "verified.marshal"


def load_verified(path: Path) -> dict[str, list[int]]:
    """The cached verdicts, or {} when there is no usable cache."""
    try:
        with open(path, "rb") as handle:
            data = marshal.load(handle)
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict) or data.get("stamp") != _STAMP:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def remember_verified(path: Path, new: Mapping[str, list[int]]) -> None:
    """Add `new` verdicts; entries whose folder is gone are dropped while we are at it."""
    from ai_skills.util.fs import atomic_write_bytes

    entries = {k: v for k, v in load_verified(path).items() if os.path.isdir(k)}
    entries.update(new)
    atomic_write_bytes(path, marshal.dumps({"stamp": _STAMP, "entries": entries}), durable=False)
