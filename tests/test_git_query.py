"""`git_query` (git without `subprocess`, for `worker status`) answers as `git_out` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai_skills.errors import CommandError
from ai_skills.util.git import _spawn_and_read, git_out, git_query


def repo_with_branches(root: Path) -> Path:
    """A repository with `main` and two task branches, one of them a commit ahead."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "one"],
                 ["branch", "worker/a"], ["checkout", "-q", "-b", "worker/b"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    (root / "f é.txt").write_text("x\r\ny\n")
    subprocess.run(["git", "add", "."], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "two\r\n"], cwd=root, check=True, env=env)
    return root


def outcome(run: object, args: list[str], cwd: str | Path) -> object:
    try:
        return run(args, cwd=cwd)  # type: ignore[operator]
    except CommandError as error:
        return ("error", str(error), error.argv, error.returncode, error.stderr)


COMMANDS = [
    ["for-each-ref", "--format=%(refname)", "refs/heads/worker/"],
    ["rev-list", "--count", "main..refs/heads/worker/b"],
    ["diff", "--name-only", "main", "refs/heads/worker/b"],
    ["log", "--format=%B", "-1", "refs/heads/worker/b"],  # a \r\n in the message
    ["rev-list", "--count", "nope..refs/heads/worker/b"],  # fails: exit 128 and a message
    ["for-each-ref", "--bogus-option"],  # fails: exit 129 and the usage on stderr
]


@pytest.mark.parametrize("args", COMMANDS)
def test_git_query_answers_as_git_out(tmp_path: Path, args: list[str]) -> None:
    repo = repo_with_branches(tmp_path / "repo")
    assert outcome(git_query, args, repo) == outcome(git_out, args, repo)


def test_a_folder_that_is_gone_or_no_git_on_path_is_the_same_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["for-each-ref"]
    gone = str(tmp_path / "gone")  # (subprocess shows a Path cwd as `PosixPath('...')`)
    ours = outcome(git_query, args, gone)
    assert ours == outcome(git_out, args, gone) and ours[3] == 127  # type: ignore[index]
    monkeypatch.setenv("PATH", str(tmp_path))
    ours = outcome(git_query, args, tmp_path)
    assert ours == outcome(git_out, args, tmp_path) and ours[3] == 127  # type: ignore[index]


def test_git_query_ignores_a_repository_named_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repo_with_branches(tmp_path / "repo")
    other = repo_with_branches(tmp_path / "other")
    subprocess.run(["git", "branch", "-q", "worker/only-there"], cwd=other, check=True)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    args = ["for-each-ref", "--format=%(refname)", "refs/heads/worker/"]
    assert git_query(args, cwd=repo).splitlines() == ["refs/heads/worker/a", "refs/heads/worker/b"]


def test_both_outputs_are_read_as_they_come_so_neither_pipe_fills(tmp_path: Path) -> None:
    # 4 MiB on each stream, interleaved: reading one to its end first would deadlock.
    script = (
        "import sys\n"
        "for i in range(64):\n"
        "    sys.stdout.write('o' * 65536); sys.stdout.flush()\n"
        "    sys.stderr.write('e' * 65536); sys.stderr.flush()\n"
        "sys.exit(3)\n"
    )
    out, err, code = _spawn_and_read([sys.executable, "-c", script], dict(os.environ))
    assert (len(out), len(err), code) == (64 * 65536, 64 * 65536, 3)
    assert set(out.decode()) == {"o"} and set(err.decode()) == {"e"}


def test_a_child_killed_by_a_signal_has_the_negative_code() -> None:
    script = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert _spawn_and_read([sys.executable, "-c", script], dict(os.environ))[2] == -9


def test_the_child_reads_an_empty_stdin_and_keeps_sigpipe_default() -> None:
    # `subprocess` restores SIGPIPE, which Python ignores, so git dies on a closed pipe.
    out, _, code = _spawn_and_read(["sh", "-c", "cat; grep SigIgn /proc/self/status"],
                                   dict(os.environ))
    ignored = int(out.decode().split()[-1], 16)
    assert (out.decode().split()[0], code) == ("SigIgn:", 0)
    assert not ignored & (1 << (13 - 1))  # SIGPIPE is signal 13
