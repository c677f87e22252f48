"""Builders and fixtures for release tests: a committed copy of this project in a fresh git
repo, one wheel cache per run, and tiny pinned releases folders that need no wheels."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ai_skills.release import layout
from ai_skills.release.build import REQUIREMENTS
from ai_skills.release.pins import sri_sha256
from ai_skills.release.tarball import reproducible_tar_gz
from ai_skills.release.wheels import Target, fetch_wheels, parse_requirements
from conftest import shared_folder

URL = "https://example.invalid/releases/{file}"
REPO = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> str:
    """Run real git in `cwd` and return stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pinned wheels, downloaded once a run (by the first xdist worker that needs them)."""
    pins = parse_requirements((REPO / REQUIREMENTS).read_text(), source=REQUIREMENTS)
    target = Target(python=layout.PYTHON, platform=layout.PLATFORMS["x86_64-linux"].pip_platform)
    with shared_folder(tmp_path_factory, "release-wheels") as cache:
        fetch_wheels(pins, target, cache=cache)
    return cache


@pytest.fixture
def release_repo(tmp_path: Path) -> Path:
    """A git repo holding this project's committed package, LICENSE and wheel pins."""
    repo = tmp_path / "project"
    repo.mkdir()
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--", "src/ai_skills", "LICENSE",
         "releases/worker-requirements.txt"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    for rel in filter(None, (f.decode() for f in tracked)):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, repo / rel)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "project at release time")
    return repo


def fake_release(releases: Path, version: str = "0.1.0", *, body: bytes = b"echo hi\n") -> Path:
    """A real (tiny) reproducible tarball plus a sidecar pinning it; returns the tarball."""
    releases.mkdir(parents=True, exist_ok=True)
    name = f"worker_{version}_linux_x86_64.tar.gz"
    data = reproducible_tar_gz({f"worker-{version}/bin/worker": (body, 0o755)}, mtime=0)
    (releases / name).write_bytes(data)
    sidecar_path = releases / "worker.json"
    sidecar = (
        json.loads(sidecar_path.read_text())
        if sidecar_path.exists()
        else {"schema": 1, "urlTemplate": URL, "releases": {}}
    )
    sidecar["releases"][version] = {
        "commit": "0" * 40,
        "python": ["3.11"],
        "systems": {
            "x86_64-linux": {
                "file": name,
                "sha256": sri_sha256(data),
                "url": URL.replace("{file}", name),
            }
        },
    }
    sidecar["latest"] = version
    sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n")
    return releases / name


def flip_byte(path: Path, offset: int = -20) -> None:
    """Change one byte of `path` in place."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
