"""Running git, and finding a repository without running git (the use-skills hot path)."""

from __future__ import annotations

import os

from ai_skills.deploy import fastpath
from ai_skills.errors import CommandError

TYPE_CHECKING = False  # `worker status` runs git through here: no `typing`, no `pathlib`
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from pathlib import Path

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


def git_query(args: list[str], *, cwd: str | Path) -> str:
    """Stdout of a read-only `git ARGS` in `cwd`, stripped; CommandError as `git_out` raises.

    For the hot paths (`worker status`): `subprocess` (with `selectors`, `signal` and
    through it `enum`) costs more to import than the git run, so this spawns git itself.
    No input, no timeout; both outputs are read as they come, so neither pipe fills up.
    """
    argv = ["git", *args]
    folder = os.fspath(cwd)
    try:
        # posix_spawn has no working folder: git's `-C` changes to it. Opening it first
        # makes a folder that is gone fail as it does under `subprocess` (exit 127).
        os.close(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
        out, err, code = _spawn_and_read(["git", "-C", folder, *args], git_env())
    except OSError as exc:  # no git on PATH, or cwd gone
        raise CommandError(argv=argv, returncode=127, stderr=str(exc)) from None
    if code != 0:
        raise CommandError(argv=argv, returncode=code, stderr=_text(err))
    return _text(out).strip()


def _text(data: bytes) -> str:
    """Output decoded as `run_git` decodes it: UTF-8 text (surrogateescape), newlines as \\n."""
    text = data.decode("utf-8", "surrogateescape")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _spawn_and_read(argv: list[str], env: dict[str, str]) -> tuple[bytes, bytes, int]:
    """Run `argv` (stdin empty), return its stdout, stderr and exit code (-N: signal N)."""
    import select  # a C module, unlike `selectors`

    try:
        # Private, but a C module already loaded at start-up; `signal` adds `enum`.
        from _signal import SIGPIPE
    except ImportError:
        from signal import SIGPIPE
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawnp(
            argv[0], argv, env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ],
            setsigdef=(SIGPIPE,),  # Python ignores SIGPIPE; git should not (as subprocess)
        )
    except BaseException:
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    for fd in chunks:
        poller.register(fd, select.POLLIN)
    try:
        reading = len(chunks)
        while reading:
            for fd, _ in poller.poll():
                data = os.read(fd, 1 << 16)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    reading -= 1
    finally:
        for fd in chunks:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r]), os.waitstatus_to_exitcode(status)


def find_worktree_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding a `.git` entry, or None."""
    from pathlib import Path

    found = fastpath.find_repo_root(str(start))
    return Path(found) if found else None


def git_dir_of(worktree_root: Path) -> Path | None:
    """The git dir of a worktree root: `.git` itself, or where a `.git` file points."""
    from pathlib import Path

    found = fastpath.git_dir(str(worktree_root))
    return Path(found) if found else None


def common_dir_of(git_dir: Path) -> Path:
    """The common dir shared by all worktrees (`commondir` file), else the git dir itself."""
    from pathlib import Path

    return Path(fastpath.common_dir(str(git_dir)))


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
