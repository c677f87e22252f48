"""A scratch world for the hostile-input suite: a source, a repo with a skill installed, a
HOME, a `git` on PATH that records every call, and a check of what each command did.

Commands run in this process (the same entry points as the console scripts) so that many
generated inputs fit in a CI minute; an alarm turns a hang into a failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.source_repos import make_source, url_of

# Every git call ai-skills makes against a source: subcommand, options (from our code only),
# and `-c` settings. Anything else in a recorded call came from the input.
GIT_SUBCOMMANDS = frozenset({"fetch", "ls-remote", "rev-parse", "update-ref", "cat-file",
                             "ls-tree", "rev-list", "status"})
# Options of git itself, before the subcommand (local_changes.py: pathspecs taken literally).
GIT_GLOBAL_OPTIONS = frozenset({"--literal-pathspecs", "--no-optional-locks"})
GIT_OPTIONS = frozenset({
    "-q", "--no-tags", "--depth=1", "--filter=blob:none", "--tags", "--no-write-fetch-head",
    "--stdin", "--verify", "--show-toplevel", "-r", "-z", "--long", "--full-tree", "--batch", "-e",
    "--batch-check=%(objectname) %(objectsize)", "--objects", "--missing=print", "--no-walk",
    "--porcelain=v1", "--untracked-files=all", "--no-renames",
})
GIT_CONFIG = frozenset({
    "core.hooksPath=/dev/null", "core.fsmonitor=false", "submodule.recurse=false",
    "fetch.recurseSubmodules=false", "protocol.version=2", "fetch.negotiationAlgorithm=noop",
    "remote.origin.fetch=+refs/heads/*:refs/remotes/origin/*", "maintenance.auto=false",
})
# Where a command may write, relative to the world's root.
WRITABLE = (
    "repo/.ai-skills", "repo/.claude", "repo/.opencode", "repo/.agents", "repo/.skills",
    "repo/ai-skills.lock.json", "repo/.git/ai-skills", "repo/.git/info/exclude",
    "home/.cache/ai-skills", "home/.local/share/ai-skills", "home/.local/state/ai-skills",
    "home/.config/ai-skills", "home/.claude/skills", "home/.config/opencode/skills",
    "home/.codex/skills",
)
WRAPPER = """#!/bin/sh
printf '%s\\0' "$#" "$@" >> "$AI_SKILLS_TEST_GIT_LOG"
exec {git} "$@"
"""
TIME_LIMIT = 20  # seconds per command; the slowest honest one takes well under one


class Hung(Exception):
    """A command ran past TIME_LIMIT."""


@dataclass
class Outcome:
    """What one command did."""

    argv: list[str]
    code: int
    stdout: str
    stderr: str
    git_calls: list[list[str]] = field(default_factory=list)


def build_template(root: Path) -> Path:
    """Source repo, catalog, a repo with alpha installed from the source, HOME, git wrapper."""
    make_source(root / "source", ["alpha", "beta"])
    (root / "outside").mkdir()
    (root / "catalog").mkdir()
    (root / "bin").mkdir()
    wrapper = root / "bin/git"
    wrapper.write_text(WRAPPER.format(git=shutil.which("git")))
    wrapper.chmod(0o755)
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    with world_env(root):
        outcome = run_command(root, "ai-skills", "add", url_of(root / "source"), "-s", "alpha",
                              "--yes")
    assert outcome.code == 0, outcome.stderr
    return root


def copy_world(template: Path, target: Path) -> Path:
    """A fresh copy of the template world at `target` (its use-skills stamp dropped).

    The lock still names the template's source: it stays in place for the whole session.
    """
    shutil.copytree(template, target, symlinks=True)
    # The stamp names the template's absolute paths, which would prove a no-op here.
    shutil.rmtree(target / "repo/.git/ai-skills", ignore_errors=True)
    return target


@contextlib.contextmanager
def world_env(root: Path) -> Iterator[None]:
    """os.environ and cwd pointed into the world for the duration."""
    saved, cwd = dict(os.environ), os.getcwd()
    home = root / "home"
    os.environ.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"), "AI_SKILLS_PATH": str(root / "catalog"),
        "PATH": f"{root / 'bin'}{os.pathsep}{saved.get('PATH', '')}",
        "AI_SKILLS_TEST_GIT_LOG": str(root / "git.log"), "NO_COLOR": "1",
    })
    for name in ("CODEX_HOME", "CLAUDE_CONFIG_DIR"):
        os.environ.pop(name, None)
    os.chdir(root / "repo")
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


def _entry(program: str) -> Callable[[], int]:
    """What the console script runs, up to its exit code (`run` would end this process)."""
    if program == "use-skills":
        from ai_skills.cli.use_skills import command as use_skills_command

        return use_skills_command
    from ai_skills.cli.entry import main as ai_skills_main

    return ai_skills_main


def _on_alarm(_signum: int, _frame: object) -> None:
    raise Hung(f"a command ran for more than {TIME_LIMIT} s")


def run_command(root: Path, program: str, *args: str) -> Outcome:
    """Run `program ARGS` in this process as its console script would; any exception other
    than SystemExit (a traceback for the user) propagates and fails the test."""
    log = root / "git.log"
    log.write_bytes(b"")
    out, err = io.StringIO(), io.StringIO()
    saved_argv = sys.argv
    sys.argv = [program, *args]
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TIME_LIMIT)
    code: int = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = _entry(program)()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        sys.argv = saved_argv
    return Outcome([program, *args], code, out.getvalue(), err.getvalue(),
                   parse_git_log(log.read_bytes()))


def parse_git_log(data: bytes) -> list[list[str]]:
    """The recorded calls: each is `count\\0arg\\0...`."""
    fields = data.split(b"\0")
    calls, pos = [], 0
    while pos < len(fields) - 1:
        count = int(fields[pos])
        args = fields[pos + 1:pos + 1 + count]
        calls.append([arg.decode("utf-8", "surrogateescape") for arg in args])
        pos += 1 + count
    return calls


def git_call_problem(args: list[str]) -> str | None:
    """Why a recorded git call is not one ai-skills makes, or None."""
    rest = list(args)
    while rest[:1] == ["-c"]:
        if len(rest) < 2 or rest[1] not in GIT_CONFIG:
            return f"unexpected config {rest[1:2]}"
        rest = rest[2:]
    while rest[:1] and rest[0] in GIT_GLOBAL_OPTIONS:
        rest = rest[1:]
    if not rest or rest[0] not in GIT_SUBCOMMANDS:
        return f"unexpected subcommand {rest[:1]}"
    options = rest[1:]
    # Operands follow --end-of-options, or `--` for pathspecs (`git status -- FOLDER`).
    for marker in ("--end-of-options", "--"):
        if marker in options:
            options = options[:options.index(marker)]
    unexpected = [o for o in options if o not in GIT_OPTIONS]
    return f"unexpected options {unexpected}" if unexpected else None


def snapshot(root: Path) -> dict[str, tuple[str, int, int, str]]:
    """Every path under `root` with its kind, size, mtime and link text."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            link = os.readlink(path) if os.path.islink(path) else ""
            kind = "link" if link else ("dir" if os.path.isdir(path) else "file")
            size = 0 if kind == "dir" else st.st_size
            found[os.path.relpath(path, root)] = (kind, size, st.st_mtime_ns, link)
    return found


def written_outside(before: dict[str, tuple[str, int, int, str]],
                    after: dict[str, tuple[str, int, int, str]]) -> list[str]:
    """Paths created, changed or removed that are not in a folder ai-skills may write."""
    changed = {p for p in before.keys() | after.keys()
               if before.get(p) != after.get(p) and before.get(p, ("dir",))[0] != "dir"}
    changed |= {p for p in after.keys() - before.keys()}
    return sorted(p for p in changed
                  if p != "git.log" and not any(p == w or p.startswith(w + "/") for w in WRITABLE)
                  and not _is_parent_of_writable(p))


def _is_parent_of_writable(path: str) -> bool:
    return any(w.startswith(path + "/") for w in WRITABLE)
