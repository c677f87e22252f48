"""File contents out of a cache repository: one `git cat-file --batch` serves a whole run.

`ai-skills add` reads a source twice (each SKILL.md to list the skills, then the chosen
skill's files), and `install` once per skill; a git process each time cost more than the
reading. Only object ids git itself printed are written to it, one per line.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from ai_skills.errors import CommandError
from ai_skills.install.git_values import FULL_SHA
from ai_skills.install.source_git import SAFE_GIT_ENV, git_command
from ai_skills.util.git import git_env

if TYPE_CHECKING:
    import subprocess

# Ids written before their answers are read: far below a pipe's 64 KiB, so neither side
# can block the other.
_CHUNK = 256


class ObjectReader:
    """A running `git cat-file --batch` in one repository; `close()` ends it."""

    def __init__(self, repo: Path) -> None:
        import subprocess

        self._argv = ["git", *git_command("cat-file", "--batch")]
        try:
            self._child: subprocess.Popen[bytes] = subprocess.Popen(
                self._argv, cwd=repo, env=git_env(SAFE_GIT_ENV), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except OSError as exc:  # no git on PATH, or the repository gone
            raise CommandError(argv=self._argv, returncode=127, stderr=str(exc)) from None

    def read(self, oids: list[str]) -> dict[str, bytes]:
        """The contents of these objects (which must be in the repository)."""
        found: dict[str, bytes] = {}
        for start in range(0, len(oids), _CHUNK):
            chunk = oids[start : start + _CHUNK]
            if any(not FULL_SHA.fullmatch(oid) for oid in chunk):
                raise ValueError(f"not object ids: {chunk}")
            try:
                self._stdin.write("".join(oid + "\n" for oid in chunk).encode())
                self._stdin.flush()
            except BrokenPipeError:
                self._fail("git stopped reading")
            for oid in chunk:
                found[oid] = self._answer(oid)
        return found

    def _answer(self, oid: str) -> bytes:
        header = self._stdout.readline().split()
        if len(header) != 3 or header[0] != oid.encode():
            self._fail(f"asked for {oid}, got {b' '.join(header).decode(errors='replace')!r}")
        size = int(header[2])
        data = self._stdout.read(size)
        if len(data) != size or self._stdout.read(1) != b"\n":
            self._fail(f"{oid}: short read")
        return data

    @property
    def _stdin(self) -> IO[bytes]:
        assert self._child.stdin is not None
        return self._child.stdin

    @property
    def _stdout(self) -> IO[bytes]:
        assert self._child.stdout is not None
        return self._child.stdout

    def _fail(self, what: str) -> NoReturn:
        self.close()
        stderr = ""
        if self._child.stderr is not None:
            stderr = self._child.stderr.read().decode(errors="replace")
            self._child.stderr.close()
        raise CommandError(argv=self._argv, returncode=self._child.returncode or 1,
                           stderr=f"{what}. {stderr}")

    def close(self) -> None:
        """End git (it stops at the end of its input, or when its answers go unread) and
        wait for it."""
        for pipe in (self._child.stdin, self._child.stdout):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
        self._child.wait()
