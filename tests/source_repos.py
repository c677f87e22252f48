"""Builders for skill source repositories: ordinary ones, and hostile ones git would not make."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import make_skill


def git(cwd: Path, *args: str, input_bytes: bytes | None = None) -> str:
    """Run real git in `cwd` and return stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          input=input_bytes)
    return proc.stdout.decode().strip()


def commit_all(repo: Path, message: str = "change") -> str:
    """Commit everything in `repo`; return the new HEAD SHA."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_source(root: Path, names: list[str], *, folder: str = "skills") -> Path:
    """A git repo (branch main) holding valid skills `folder/NAME` for each name."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for name in names:
        make_skill(root / folder if folder else root, name)
    commit_all(root, "skills")
    return root


def url_of(repo: Path) -> str:
    """The file:// URL of a local repo."""
    return repo.resolve().as_uri()


def _tree(entries: list[tuple[str, bytes, str]], repo: Path) -> str:
    """Write a tree object from (mode, name, sha) without git's path checks."""
    data = b"".join(
        mode.encode() + b" " + name + b"\0" + bytes.fromhex(sha) for mode, name, sha in entries
    )
    return git(repo, "hash-object", "-t", "tree", "-w", "--literally", "--stdin",
               input_bytes=data)


def _blob(repo: Path, data: bytes) -> str:
    return git(repo, "hash-object", "-w", "--stdin", input_bytes=data)


def make_hostile_source(root: Path, extra: tuple[str, bytes, bytes]) -> Path:
    """A repo whose `skills/evil` holds a valid SKILL.md plus one crafted entry.

    `extra` is (git mode, entry name, blob content) placed in `skills/evil/`.
    """
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    skill_md = _blob(root, b"---\nname: evil\ndescription: Looks harmless.\n---\n# evil\n")
    mode, name, content = extra
    # A gitlink (submodule) names a commit that need not exist here.
    extra_sha = _blob(root, content) if mode != "160000" else "1" * 40
    entries = sorted([("100644", b"SKILL.md", skill_md), (mode, name, extra_sha)],
                     key=lambda e: e[1])
    evil = _tree(entries, root)
    skills = _tree([("40000", b"evil", evil)], root)
    top = _tree([("40000", b"skills", skills)], root)
    commit = git(root, "commit-tree", top, "-m", "hostile")
    git(root, "update-ref", "refs/heads/main", commit)
    return root
