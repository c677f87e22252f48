"""Fixtures for the conformance suite: the real agent CLIs, a scripted model server, a repo.

Locally a missing CLI skips these tests; in CI (`CI=true`) it fails them (`.ci/run` installs
the CLIs). Each test gets a fresh HOME (the autouse fixture in tests/conftest.py); one npm
cache is shared by the session, so OpenCode's background install of its plugin package
downloads once a run.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_skills.util.fs import atomic_write_text
from conftest import run_folder, shared_folder

from .clis import AGENTS, OTHER_CLIS, QUIET_ENV, Programs, find_programs, shared_npm_cache, version
from .model_server import ModelServer, Script

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def programs() -> Programs:
    """The real CLIs; skip locally, fail in CI, when they are missing."""
    found, why = find_programs(names=(*AGENTS, *OTHER_CLIS))
    if found is None:
        if IN_CI:
            pytest.fail(f"agent CLIs missing: {why}")
        pytest.skip(f"agent CLIs missing: {why}")
    return found


@pytest.fixture(scope="session")
def versions(programs: Programs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`--version` of each CLI, asked once a run (each takes seconds of a busy machine's CPU)
    and kept in `agent-versions/versions.json` in the run's tmp."""
    with shared_folder(tmp_path_factory, "agent-versions") as folder:
        kept = folder / "versions.json"
        if not kept.exists():
            found = {agent: version(programs, agent) for agent in (*AGENTS, *OTHER_CLIS)}
            atomic_write_text(kept, json.dumps(found, indent=2))
        versions: dict[str, str] = json.loads(kept.read_text())
    return versions


@pytest.fixture(scope="session")
def npm_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One npm cache for every agent run of the test run, shared by the xdist workers (npm's
    cache takes concurrent writers)."""
    return shared_npm_cache(run_folder(tmp_path_factory) / "npm-cache")


@pytest.fixture
def agent_env(
    programs: Programs, npm_cache: dict[str, str], isolated_home: Path
) -> dict[str, str]:
    """The environment a user's shell would have: the CLIs and `worker` on PATH, quiet."""
    venv_bin = str(Path(sys.executable).parent)
    # Claude Code allows its bypass modes as root only with IS_SANDBOX set; the machine
    # these tests were written on sets it, CI does not. The presets must work without it.
    inherited = {k: v for k, v in os.environ.items() if k != "IS_SANDBOX"}
    return {
        **inherited,
        **QUIET_ENV,
        **npm_cache,
        "PATH": programs.path(f"{venv_bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(isolated_home),
    }


@pytest.fixture
def server() -> Iterator[ModelServer]:
    """A model server with an empty script (tests set `server.script`)."""
    with ModelServer(Script([])) as srv:
        yield srv
