"""Nothing read from a lock, an npx lock or the command line reaches git as an option.

Each test is an attack tried for real: a value that, passed to git unchecked, makes git run
`--upload-pack`'s command, which would create the file PWNED.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.source_repos import make_source, url_of
from tests.test_add_cli import AI_SKILLS

LOCK = "ai-skills.lock.json"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ai-skills ARGS` in `cwd`; a hang (a FIFO read, an expanding bomb) fails, not blocks."""
    assert AI_SKILLS, "ai-skills is not installed next to this Python"
    return subprocess.run([AI_SKILLS, *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.fixture
def pwned(tmp_path: Path) -> Path:
    """The file an attack would create."""
    return tmp_path / "PWNED"


def upload_pack(pwned: Path) -> str:
    return f"--upload-pack=touch {pwned};"


@pytest.fixture
def installed(tmp_path: Path, git_repo: Path) -> Path:
    """A repo with alpha installed from a local source (its lock written by ai-skills)."""
    source = make_source(tmp_path / "source", ["alpha"])
    added = run(git_repo, "add", url_of(source), "-s", "alpha", "--yes")
    assert added.returncode == 0, added.stderr
    return git_repo


def edit_lock(repo: Path, **fields: str) -> None:
    data = json.loads((repo / LOCK).read_text())
    data["skills"]["alpha"].update(fields)
    (repo / LOCK).write_text(json.dumps(data))


def assert_refused(result: object, pwned: Path, message: str) -> None:
    assert not pwned.exists(), "git ran a command named in the input"
    stderr = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert message in stderr, stderr
    assert result.returncode in (1, 2), stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["update", "check", "install"])
def test_lock_ref_is_never_an_option(installed: Path, pwned: Path, command: str) -> None:
    edit_lock(installed, ref=upload_pack(pwned))
    (installed / ".ai-skills/skills/alpha").unlink()  # so `install` has work to do
    result = run(installed, command)
    assert_refused(result, pwned,
                   f"{LOCK}: skills.alpha.ref: '{upload_pack(pwned)}' is not a git ref")


@pytest.mark.parametrize("command", ["update", "check", "install"])
def test_lock_source_is_never_an_option(installed: Path, pwned: Path, command: str) -> None:
    edit_lock(installed, source=upload_pack(pwned))
    (installed / ".ai-skills/skills/alpha").unlink()
    result = run(installed, command)
    assert_refused(result, pwned, f"{LOCK}: skills.alpha.source: '{upload_pack(pwned)}' "
                                  "is not a git URL")


def test_lock_source_cannot_inject_cache_config(installed: Path, pwned: Path) -> None:
    source = json.loads((installed / LOCK).read_text())["skills"]["alpha"]["source"]
    hostile = f'{source}"\n[core]\n\tsshCommand = touch {pwned}\n#'
    edit_lock(installed, source=hostile)
    result = run(installed, "update")
    assert_refused(result, pwned, f"{LOCK}: skills.alpha.source: ")
    assert "control character" in result.stderr


def test_npx_lock_ref_is_never_an_option(tmp_path: Path, git_repo: Path, pwned: Path) -> None:
    source = make_source(tmp_path / "source", ["alpha"])
    (git_repo / "skills-lock.json").write_text(json.dumps({"version": 1, "skills": {"alpha": {
        "source": url_of(source), "sourceType": "git", "sourceUrl": url_of(source),
        "skillPath": "skills/alpha/SKILL.md", "ref": upload_pack(pwned)}}}))
    result = run(git_repo, "import-npx", "--yes")
    assert_refused(result, pwned,
                   f"skills-lock.json: skills.alpha.ref: '{upload_pack(pwned)}' is not a git ref")
    assert not (git_repo / LOCK).exists()


def test_npx_lock_source_is_never_an_option(git_repo: Path, pwned: Path) -> None:
    (git_repo / "skills-lock.json").write_text(json.dumps({"version": 1, "skills": {"alpha": {
        "source": upload_pack(pwned), "sourceType": "git", "sourceUrl": upload_pack(pwned)}}}))
    result = run(git_repo, "import-npx", "--yes")
    assert_refused(result, pwned, f"skills-lock.json: skills.alpha.source: "
                                  f"'{upload_pack(pwned)}' is not a git URL")


@pytest.mark.parametrize("option", ["--ref={}", "--ref", "-s"])
def test_add_ref_option_is_never_an_option(tmp_path: Path, git_repo: Path, pwned: Path,
                                           option: str) -> None:
    source = make_source(tmp_path / "source", ["alpha"])
    hostile = upload_pack(pwned)
    if option == "--ref={}":
        args = ["-s", "alpha", f"--ref={hostile}"]
    elif option == "--ref":
        args = ["-s", "alpha", "--ref", hostile]
    else:  # a ref that is no option but still no ref: the grammar refuses it too
        args = ["-s", "alpha", "--ref", "main..other"]
        hostile = "main..other"
    result = run(git_repo, "add", url_of(source), *args, "--yes")
    assert_refused(result, pwned, f"--ref: '{hostile}' is not a git ref")
    assert result.returncode == 2
    assert not (git_repo / LOCK).exists()


def test_add_source_starting_with_dash_is_refused(git_repo: Path, pwned: Path) -> None:
    result = run(git_repo, "add", "-s", "alpha", "--yes", "--", upload_pack(pwned))
    assert_refused(result, pwned, f"'{upload_pack(pwned)}' is not a git URL")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A git:// address whose server accepts connections and never says a word."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"git://127.0.0.1:{listener.getsockname()[1]}/skills.git"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("command", ["check", "update"])
def test_a_source_that_never_answers_cannot_hang_the_tool(
    installed: Path, silent_server: str, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # `check` runs in CI on every pull request; a lock naming a server that holds the
    # connection open must end the run with an error, not keep the job until it is killed.
    edit_lock(installed, source=silent_server)
    monkeypatch.setenv("AI_SKILLS_GIT_TIMEOUT", "3")
    result = run(installed, command)
    assert result.returncode == 1, result.stderr
    said = result.stdout + result.stderr  # check reports per skill on stdout
    assert "no answer from git within 3 s" in said, said
    assert "Traceback" not in said


def test_work_that_fails_while_git_waits_on_a_server_ends_git(
    silent_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `add` imports its install side while the fetch runs; should that fail, the git left
    # talking to a silent server must be stopped, not waited for without a limit.
    import os
    import signal

    from ai_skills.install.sources import SourceCache, cache_root

    def hung(_signum: int, _frame: object) -> None:
        raise AssertionError("still waiting for git after the work beside it failed")

    def failing() -> None:
        raise RuntimeError("import failed")

    monkeypatch.setenv("AI_SKILLS_GIT_TIMEOUT", "600")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        with SourceCache(cache_root(os.environ)) as cache, \
                pytest.raises(RuntimeError, match="import failed"):
            cache.resolve(silent_server, None, meanwhile=failing)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
