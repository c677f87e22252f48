"""`ai-skills release` wiring, the committed releases/ as CI checks it, and the committed
tarball run the way a user without Nix runs it: unpacked, on a Python with nothing in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ai_skills.release import layout
from ai_skills.release.pins import load_sidecar
from conftest import require_tool
from release_helpers import REPO, fake_release, flip_byte, release_repo

__all__ = ["release_repo"]  # fixture

AI_SKILLS = str(Path(sys.executable).parent / "ai-skills")
SIDECAR = REPO / "releases" / "worker.json"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AI_SKILLS, "release", *args], cwd=cwd, capture_output=True, text=True)


def test_the_committed_releases_match_their_pins() -> None:
    # The CI check: Python always, and real Nix in a fresh store where Nix is installed.
    result = cli("verify", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["ok"] and report["checks"]
    methods = {c["method"] for c in report["checks"]}
    assert methods == ({"python", "nix-hashFile", "nix-fetchurl"} if report["nix"] else {"python"})
    sidecar = load_sidecar(SIDECAR)
    assert sidecar.latest in sidecar.releases


def test_verify_exits_1_and_names_a_tampered_file(tmp_path: Path) -> None:
    tarball = fake_release(tmp_path / "releases")
    flip_byte(tarball)
    result = cli("verify", "--dir", str(tmp_path / "releases"))
    assert result.returncode == 1
    assert f"{tarball}: python: MISMATCH: pinned sha256-" in result.stdout
    assert "release verify FAILED" in result.stderr


def test_release_refuses_a_version_that_is_not_semver(release_repo: Path) -> None:
    result = cli("worker", "--version", "v1", cwd=release_repo)
    assert result.returncode == 2
    assert "ai-skills: error: version 'v1' is not semver" in result.stderr


def test_release_refuses_a_dirty_tree_naming_the_file(release_repo: Path) -> None:
    (release_repo / "src/ai_skills/__init__.py").write_text("# edited\n")
    result = cli("worker", "--version", "0.1.0", "--url-template", "https://x.invalid/{file}",
                 cwd=release_repo)  # fmt: skip
    assert result.returncode == 1
    assert f"{release_repo}/src/ai_skills/__init__.py: the working tree has uncommitted" in (
        result.stderr
    )
    assert "--allow-dirty" in result.stderr


def test_release_without_a_url_template_or_remote_says_what_to_pass(release_repo: Path) -> None:
    result = cli("worker", "--version", "0.1.0", cwd=release_repo)
    assert result.returncode == 2
    assert "pass --url-template" in result.stderr


def test_release_refuses_an_unknown_system(release_repo: Path) -> None:
    result = cli("worker", "--version", "0.1.0", "--system", "riscv64-linux", cwd=release_repo)
    assert result.returncode == 2
    assert "no worker tarball for system 'riscv64-linux'; known: x86_64-linux" in result.stderr


def test_the_launcher_refuses_a_python_it_has_no_compiled_modules_for(tmp_path: Path) -> None:
    boot = tmp_path / "lib" / "worker_boot.py"
    boot.parent.mkdir()
    boot.write_text(layout.release_file("worker_boot.py", version="0.1.0", python="3.10"))
    result = subprocess.run([sys.executable, "-I", str(boot), "--version"],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 6
    assert result.stdout == ""
    assert "worker 0.1.0 bundles compiled modules for CPython 3.10" in result.stderr
    assert "set WORKER_PYTHON to a CPython 3.10 interpreter" in result.stderr


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CPython 3.11 venv with no pip and no site-packages: only the stdlib can help."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    base = sys.executable if sys.version_info[:2] == (3, 11) else require_tool("python3.11")
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


@pytest.fixture
def unpacked(tmp_path: Path) -> Path:
    """The committed latest tarball unpacked with real tar, then moved: bin/worker of it."""
    sidecar = load_sidecar(SIDECAR)
    assert sidecar.latest is not None
    pin = sidecar.releases[sidecar.latest].systems["x86_64-linux"]
    (tmp_path / "first").mkdir()
    subprocess.run(["tar", "xzf", str(REPO / "releases" / pin.file), "-C", str(tmp_path / "first")],
                   check=True)  # fmt: skip
    moved = tmp_path / "moved place"
    (tmp_path / "first").rename(moved)
    return moved / f"worker-{sidecar.latest}" / "bin" / "worker"


def isolated_env(python: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WORKER_PYTHON": str(python),
            "PYTHONPATH": str(tmp_path / "nothing-here"), **extra}  # fmt: skip


@pytest.mark.slow
def test_unpacked_worker_prints_its_version_through_a_symlink_on_a_fresh_python(
    unpacked: Path, fresh_python: Path, tmp_path: Path
) -> None:
    link_dir = tmp_path / "bin"
    link_dir.mkdir()
    (link_dir / "worker").symlink_to(unpacked)
    env = isolated_env(fresh_python, tmp_path)
    version = load_sidecar(SIDECAR).latest
    result = subprocess.run([str(link_dir / "worker"), "--version"], env=env,
                            capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert (result.returncode, result.stdout) == (0, f"worker {version}\n"), result.stderr
    helped = subprocess.run([str(link_dir / "worker"), "--help"], env=env,
                            capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert helped.returncode == 0, helped.stderr
    assert "Usage: worker" in helped.stdout


@pytest.mark.slow
def test_unpacked_worker_runs_a_task_through_its_supervisor(
    unpacked: Path, fresh_python: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    agent = tmp_path / "agent.sh"
    agent.write_text(
        "#!/bin/sh\n"
        'echo "PYTHONPATH=${PYTHONPATH:-}" > agent-env.txt\n'
        "git add agent-env.txt && git commit -qm 'agent work'\n"
        "worker report --status done -m finished\n"
    )
    agent.chmod(0o755)
    path = f"{unpacked.parent}:/usr/bin:/bin"
    env = {**isolated_env(fresh_python, tmp_path, PATH=path),
           **{k: v for k, v in os.environ.items() if k.startswith("GIT_")}}  # fmt: skip

    def worker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["worker", *args], env=env, cwd=repo, capture_output=True,
                              text=True, timeout=60)  # fmt: skip

    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=repo, env=env,
                   check=True)  # fmt: skip
    assert worker("add", "t1", "--title", "demo", "--runtime-command", str(agent)).returncode == 0
    started = worker("start", "t1")
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 60
    state = ""
    while time.monotonic() < deadline and state != "in_review":
        time.sleep(0.5)
        state = json.loads(worker("status", "t1", "--json").stdout)["state"]
    assert state == "in_review"
    # The agent ran with the user's PYTHONPATH, not the bundle's library folder.
    checkout = json.loads(worker("status", "t1", "--json").stdout)["worktree"]
    assert (Path(checkout) / "agent-env.txt").read_text() == (
        f"PYTHONPATH={tmp_path / 'nothing-here'}\n"
    )
