"""Shared fixtures: every test runs with HOME and agent variables pointed at temp dirs."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_skills.util.fs import file_lock

IN_CI = os.environ.get("CI") == "true"

# Fixtures for evaluating the home-manager module inside the real home-manager, and a real
# PostgreSQL (a scratch cluster per session, a database per test).
pytest_plugins = ["hm_helpers", "pg_helpers"]


def require_tool(name: str) -> str:
    """Path of an external tool; skip locally, fail in CI, when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(message + " (CI must install it)")
        pytest.skip(message)
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: three pytest-xdist workers a core, since most tests wait on subprocesses,
    git and agents rather than compute; PYTEST_XDIST_AUTO_NUM_WORKERS=N overrides it."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return 3 * len(os.sched_getaffinity(0))


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder of the whole run: with pytest-xdist, the one every worker's own
    temp folder (`popen-gw0`, ...) is in; without it, the session's temp folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """`name` in the run's temp folder, locked for the block: the first worker to get here
    fills it, the others wait and find it filled (downloads and builds happen once a run)."""
    folder = run_folder(tmp_path_factory) / name
    with file_lock(folder.with_name(name + ".lock"), timeout=900):
        folder.mkdir(exist_ok=True)
        yield folder


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point HOME, XDG_* and agent variables at a fresh temp dir for every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    for var in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "AI_SKILLS_PATH", "GIT_DIR", "GIT_WORK_TREE",
                "WORKER_TASK_ID", "WORKER_ATTEMPT_ID", "WORKER_PROMPT_FILE", "DIRENV_DIR",
                "WORKER_STORE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)  # moves Gemini CLI's user folders
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.invalid")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


def git(cwd: Path, *args: str) -> str:
    """Run real git in `cwd` and return stdout."""
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A fresh git repo with one commit on `main`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("demo\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def require_env_tool(var: str, description: str) -> Path:
    """A tool named by an environment variable; skip locally, fail in CI, when missing."""
    value = os.environ.get(var, "")
    if not value or not Path(value).exists():
        message = f"{var} is not set to an existing path ({description})"
        if IN_CI:
            pytest.fail(message + "; .ci/run must install it")
        pytest.skip(message)
    return Path(value)


@pytest.fixture
def npx_skills() -> tuple[str, dict[str, str]]:
    """The real `skills` npm CLI and an environment (Node 22 first on PATH, no telemetry)."""
    node_bin = require_env_tool("AI_SKILLS_NODE22_BIN", "folder holding a Node 22 binary")
    cli = require_env_tool("AI_SKILLS_SKILLS_CLI", "path of the `skills` npm CLI")
    env = dict(
        os.environ,
        PATH=f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
        NO_COLOR="1",
    )
    return str(cli), env
