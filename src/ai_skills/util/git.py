"""Running git, and finding a repository without running git (the use-skills hot path)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ai_skills.deploy import fastpath
from ai_skills.errors import CommandError

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable

# Variables that would make git act on another repository than the one we name with cwd.
_GIT_REPO_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a git child: ours minus repository overrides, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REPO_VARIABLES}
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env.update(extra or {})
    return env


def run_git(
    args: list[str],
    *,
    cwd: Path,
    check: bool = True,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `git ARGS` in `cwd`; raise CommandError with command, code and stderr on failure.

    With `timeout`, git and the helpers it started (ssh, git-remote-https) are killed
    when it has not finished by then, and that is a CommandError too. `meanwhile` is
    called once git has started, so the caller's own work overlaps a slow git.
    """
    import subprocess  # not at module level: use-skills finds repos without running git

    argv = ["git", *args]
    try:
        # surrogateescape: a path or message that is not UTF-8 round-trips, never raises.
        with subprocess.Popen(
            argv, cwd=cwd, env=git_env(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, encoding="utf-8", errors="surrogateescape",
            start_new_session=timeout is not None,
        ) as child:
            if meanwhile is not None:
                try:
                    meanwhile()
                except BaseException:  # never wait without a limit on a git left behind
                    if timeout is not None:
                        _kill_group(child)
                    else:
                        child.kill()
                    raise
            try:
                out, err = child.communicate(input_text, timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(child)
                raise CommandError(
                    argv=argv, returncode=-9,
                    stderr=f"no answer from git within {timeout:g} s; stopped it "
                    "(AI_SKILLS_GIT_TIMEOUT sets the limit)",
                ) from None
    except OSError as exc:  # no git on PATH, or cwd gone
        raise CommandError(argv=argv, returncode=127, stderr=str(exc)) from None
    proc = subprocess.CompletedProcess(argv, child.returncode, out, err)
    if check and proc.returncode != 0:
        raise CommandError(argv=argv, returncode=proc.returncode, stderr=proc.stderr)
    return proc


def _kill_group(child: subprocess.Popen[str]) -> None:
    """Kill a child started in its own session, with everything it started, and reap it."""
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.communicate()


def git_bytes(args: list[str], *, cwd: Path) -> bytes:
    """Raw stdout of a successful git command (`git archive`, blobs)."""

    argv = ["git", *args]
    proc = _run_bytes(argv, cwd=cwd, env=git_env(), input_bytes=None)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        raise CommandError(argv=argv, returncode=proc.returncode, stderr=stderr)
    return proc.stdout


def git_out(args: list[str], *, cwd: Path) -> str:
    """Stdout of a successful git command, stripped."""
    return run_git(args, cwd=cwd).stdout.strip()


def find_worktree_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding a `.git` entry, or None."""
    found = fastpath.find_repo_root(str(start))
    return Path(found) if found else None


def git_dir_of(worktree_root: Path) -> Path | None:
    """The git dir of a worktree root: `.git` itself, or where a `.git` file points."""
    found = fastpath.git_dir(str(worktree_root))
    return Path(found) if found else None


def common_dir_of(git_dir: Path) -> Path:
    """The common dir shared by all worktrees (`commondir` file), else the git dir itself."""
    try:
        rel = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return git_dir
    path = Path(rel)
    return path if path.is_absolute() else (git_dir / path).resolve()


def run_git_bytes(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    input_bytes: bytes | None = None,
) -> bytes:
    """Run `git ARGS` in `cwd` with binary stdin/stdout (file contents); raise CommandError."""

    argv = ["git", *args]
    proc = _run_bytes(argv, cwd=cwd, env=git_env(env), input_bytes=input_bytes)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        raise CommandError(argv=argv, returncode=proc.returncode, stderr=stderr)
    return proc.stdout


def _run_bytes(
    argv: list[str], *, cwd: Path, env: dict[str, str], input_bytes: bytes | None
) -> subprocess.CompletedProcess[bytes]:
    import subprocess

    try:
        return subprocess.run(argv, cwd=cwd, env=env, input=input_bytes, capture_output=True)
    except OSError as exc:  # no git on PATH, or cwd gone
        raise CommandError(argv=argv, returncode=127, stderr=str(exc)) from None
