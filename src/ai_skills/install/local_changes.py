"""Uncommitted changes in a skill folder of a local source (`ai-skills add ./path`).

Installs are pinned to a commit, so edits not yet committed are not installed. A user who
adds a folder they are editing expects those edits; say what is left out, and how to
include it, rather than pin the last commit in silence.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from ai_skills.errors import CommandError
from ai_skills.install.source_git import SAFE_GIT_CONFIG, SAFE_GIT_ENV
from ai_skills.util.git import run_git

# Enough names to find the change; the count says how many there are in all.
_SHOWN = 5


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


def uncommitted_warning(url: str, folder: str, *, name: str, commit: str) -> str | None:
    """A warning when `url` is a local work tree whose `folder` has uncommitted changes."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    top = Path(unquote(parsed.path))
    if not (top / ".git").exists():
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
