"""The no-op check for `use-skills`: prove nothing changed using only `os` and `marshal`.

direnv runs use-skills on every reload, and nearly always nothing has changed. After a
sync that ended without errors we write a stamp of everything the result depends on:
the environment, the manifest, each skill's SKILL.md, the lookups that chose each skill,
the folders holding our links (their mtime moves when an entry is added or removed) and
each link's text. When every check still holds, the sync would change nothing, so we can
stop before importing the rest of the package. Any doubt falls through to the full sync.
The stamp is marshal data, not JSON: importing json (and with it re) would double the
cost of a reload.
"""

from __future__ import annotations

import marshal
import os

TYPE_CHECKING = False  # `typing` itself costs milliseconds here
if TYPE_CHECKING:
    from typing import Any

STAMP_VERSION = 2
STAMP_FILE = "stamp.marshal"
# Environment variables whose value changes what a sync does.
ENV_INPUTS = (
    "AI_SKILLS_AGENTS", "AI_SKILLS_PATH", "CODEX_HOME", "HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"
)


def stat_key(path: str) -> list[int] | None:
    """(mtime_ns, size, inode) of `path` (following links); None if absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def stamp_bytes(stamp: dict[str, Any]) -> bytes:
    """Serialise a stamp for `stamp_holds`."""
    return marshal.dumps({"version": STAMP_VERSION, **stamp})


def find_repo_root(start: str) -> str | None:
    """The nearest folder at or above `start` holding a `.git` entry, or None."""
    here = start
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def git_dir(worktree_root: str) -> str | None:
    """The git dir of a worktree root: `.git` itself, or where a `.git` file points."""
    dot_git = os.path.join(worktree_root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    try:
        with open(dot_git, encoding="utf-8") as handle:
            first_line = handle.readline()
    except (OSError, UnicodeDecodeError):
        return None
    if not first_line.startswith("gitdir:"):
        return None
    return os.path.join(worktree_root, first_line.removeprefix("gitdir:").strip())


def common_dir(git_dir: str) -> str:
    """The common dir shared by all worktrees (`commondir` file), else the git dir itself."""
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            rel = handle.read().strip()
    except OSError:
        return git_dir
    return rel if os.path.isabs(rel) else os.path.realpath(os.path.join(git_dir, rel))


def state_dir(repo: str, env: dict[str, str] | os._Environ[str]) -> str:
    """Where a repo's record and stamp live: its git dir (travels with it), else XDG state."""
    found = git_dir(repo) if os.path.lexists(os.path.join(repo, ".git")) else None
    if found is not None:
        return os.path.join(found, "ai-skills")
    import hashlib  # only for repos without git; costs milliseconds on the hot path

    from ai_skills.util.xdg import xdg_home

    key = hashlib.sha256(repo.encode()).hexdigest()[:16]
    return os.path.join(xdg_home(env, "XDG_STATE_HOME"), "ai-skills", "repos", key)


def repo_for(start: str) -> str:
    """The repo use-skills works on from `start`: its git top level, else `start` itself."""
    real = os.path.realpath(start)
    return find_repo_root(real) or real


def quick_noop(cwd: str, env: dict[str, str] | os._Environ[str]) -> bool:
    """True when the repo around `cwd` is provably in sync for a default run."""
    stamp = os.path.join(state_dir(repo_for(cwd), env), STAMP_FILE)
    return stamp_holds(stamp, env, "default")


def env_key(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The part of the environment a sync depends on, and where this package lives.

    The package folder counts because its bundled skills move when it is reinstalled.
    """
    key = {name: env.get(name, "") for name in ENV_INPUTS}
    key["package"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return key


def stamp_holds(stamp_path: str, env: dict[str, str] | os._Environ[str], options: str) -> bool:
    """True when the stamp proves a sync with these inputs would change nothing."""
    try:
        with open(stamp_path, "rb") as handle:
            stamp = marshal.load(handle)
    except (OSError, ValueError, EOFError, TypeError):
        return False
    try:
        if stamp["version"] != STAMP_VERSION or stamp["options"] != options:
            return False
        # A repo copied with its .git (cp -a, rsync) carries a stamp whose paths all name
        # the original: it proves nothing about the copy.
        if stamp["at"] != os.path.dirname(stamp_path):
            return False
        if stamp["env"] != env_key(env):
            return False
        for path, key in stamp["stats"].items():
            if stat_key(path) != key:
                return False
        for path in stamp["absent"]:
            if os.path.lexists(path):
                return False
        for target, text in stamp["links"].items():
            if os.readlink(target) != text:
                return False
    except (OSError, KeyError, TypeError, AttributeError):
        return False
    return True
