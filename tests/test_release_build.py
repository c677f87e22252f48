"""`ai-skills release worker` through the core API: reproducible bytes, pins that never
change silently, refusals that name the file. Builds use the real pinned wheels (slow)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_skills.errors import UsageError
from ai_skills.release import layout
from ai_skills.release.build import BuildOptions, build_tarball, release_worker
from ai_skills.release.errors import ReleaseError
from ai_skills.release.pins import check_version, load_sidecar, semver_key, sri_sha256
from release_helpers import git, release_repo, wheel_cache

__all__ = ["release_repo", "wheel_cache"]  # fixtures

URL = "https://forge.invalid/ai-skills/raw/main/releases/{file}"
LINUX = layout.PLATFORMS["x86_64-linux"]


def options(cache: Path, version: str = "0.1.0", **extra: object) -> BuildOptions:
    return BuildOptions(version=version, url_template=URL, wheel_cache=cache, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["1.0", "v1.0.0", "01.0.0", "1.0.0+build.5", "1.0.0-", "latest"])
def test_a_version_that_is_not_semver_is_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="not semver"):
        check_version(bad)


@pytest.mark.parametrize("good", ["0.1.0", "1.22.333", "2.0.0-rc.1", "1.0.0-alpha-1"])
def test_semver_versions_pass(good: str) -> None:
    assert check_version(good) == good


numbers = st.integers(min_value=0, max_value=10**6)


@given(st.tuples(numbers, numbers, numbers), st.tuples(numbers, numbers, numbers))
def test_versions_order_like_their_numbers(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    va, vb = (".".join(map(str, t)) for t in (a, b))
    assert check_version(va) == va
    assert (semver_key(va) < semver_key(vb)) == (a < b)
    assert semver_key(va + "-rc.1") < semver_key(va) < semver_key(va.rsplit(".", 1)[0] + "."
                                                                  + str(a[2] + 1))


def test_release_refuses_a_bad_version_before_building(release_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'1.0' is not semver"):
        release_worker(release_repo, options(tmp_path / "cache", "1.0"))
    assert not (release_repo / "releases" / "worker.json").exists()


def test_a_dirty_working_tree_is_refused_naming_the_file(
    release_repo: Path, tmp_path: Path
) -> None:
    (release_repo / "LICENSE").write_text("edited\n")
    with pytest.raises(ReleaseError, match=r"project/LICENSE: the working tree has uncommitted"):
        release_worker(release_repo, options(tmp_path / "cache"))
    assert sorted(p.name for p in (release_repo / "releases").iterdir()) == [
        "worker-requirements.txt"
    ]


@pytest.mark.slow
def test_building_twice_from_one_commit_gives_identical_bytes(
    release_repo: Path, wheel_cache: Path, tmp_path: Path
) -> None:
    first = build_tarball(release_repo, "0.1.0", LINUX, cache=wheel_cache)
    clone = tmp_path / "elsewhere" / "clone"
    subprocess.run(["git", "clone", "-q", str(release_repo), str(clone)], check=True)
    second = build_tarball(clone, "0.1.0", LINUX, cache=wheel_cache)
    assert first == second
    # A commit that touches no input (e.g. the release commit itself) changes nothing...
    git(release_repo, "commit", "-q", "--allow-empty", "-m", "unrelated")
    assert build_tarball(release_repo, "0.1.0", LINUX, cache=wheel_cache) == first
    # ...and one that changes the package does.
    (release_repo / "src/ai_skills/NOTE.txt").write_text("new\n")
    git(release_repo, "add", "-A")
    git(release_repo, "commit", "-q", "-m", "change the package")
    assert build_tarball(release_repo, "0.1.0", LINUX, cache=wheel_cache) != first


@pytest.mark.slow
def test_tarball_metadata_is_normalised_and_trimmed(
    release_repo: Path, wheel_cache: Path, tmp_path: Path
) -> None:
    data = build_tarball(release_repo, "0.1.0", LINUX, cache=wheel_cache)
    # gzip header: no FNAME flag, MTIME zero.
    assert data[3] == 0 and data[4:8] == b"\0\0\0\0"
    commit_time = int(git(release_repo, "show", "-s", "--format=%ct", "HEAD"))
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: Path(n).parts)
    assert {n.split("/")[0] for n in names} == {"worker-0.1.0"}
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == commit_time
        assert member.mode in (0o644, 0o755)
    files = set(names)
    for wanted in ("bin/worker", "libexec/python", "lib/worker_boot.py", "LICENSE",
                   "README.md", "lib/ai_skills/cli/worker.py", "lib/pydantic_core/__init__.py"):
        assert f"worker-0.1.0/{wanted}" in files, wanted
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    dist_info = [n.split(".dist-info/")[1] for n in names if ".dist-info/" in n]
    assert "METADATA" in dist_info and "RECORD" not in dist_info and "WHEEL" not in dist_info
    assert not [n for n in names if "/rich/" in n or "/yaml/" in n]


@pytest.mark.slow
def test_release_records_the_pin_and_a_second_run_changes_nothing(
    release_repo: Path, wheel_cache: Path
) -> None:
    result = release_worker(release_repo, options(wheel_cache))
    releases = release_repo / "releases"
    tarball = releases / "worker_0.1.0_linux_x86_64.tar.gz"
    assert result.status == "added" and result.path == tarball
    sidecar = json.loads((releases / "worker.json").read_text())
    pin = sidecar["releases"]["0.1.0"]
    assert sidecar["latest"] == "0.1.0"
    assert pin["python"] == ["3.11"]
    assert pin["commit"] == git(release_repo, "rev-parse", "HEAD")
    assert pin["systems"]["x86_64-linux"] == {
        "file": tarball.name,
        "sha256": sri_sha256(tarball.read_bytes()),
        "url": f"https://forge.invalid/ai-skills/raw/main/releases/{tarball.name}",
    }
    git(release_repo, "add", "releases")
    git(release_repo, "commit", "-q", "-m", "release 0.1.0")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in releases.iterdir()}
    again = release_worker(release_repo, options(wheel_cache))
    assert again.status == "unchanged"
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in releases.iterdir()} == before
    assert git(release_repo, "status", "--porcelain") == ""


@pytest.mark.slow
def test_rereleasing_a_version_with_other_bytes_is_refused_unless_replace(
    release_repo: Path, wheel_cache: Path
) -> None:
    release_worker(release_repo, options(wheel_cache))
    git(release_repo, "add", "releases")
    git(release_repo, "commit", "-q", "-m", "release 0.1.0")
    (release_repo / "src/ai_skills/worker/NOTE.txt").write_text("changed after the release\n")
    git(release_repo, "add", "-A")
    git(release_repo, "commit", "-q", "-m", "work after 0.1.0")
    releases = release_repo / "releases"
    pinned = (releases / "worker.json").read_bytes()
    with pytest.raises(ReleaseError, match=r"worker_0.1.0_linux_x86_64.tar.gz: version 0.1.0 is "
                       r"already released as sha256-.*--replace"):  # fmt: skip
        release_worker(release_repo, options(wheel_cache))
    assert (releases / "worker.json").read_bytes() == pinned

    replaced = release_worker(release_repo, options(wheel_cache, replace=True))
    assert replaced.status == "replaced" and replaced.previous_sha256 != replaced.sha256
    assert any("REPLACED version 0.1.0" in w for w in replaced.warnings)
    sidecar = load_sidecar(releases / "worker.json")
    assert sidecar.releases["0.1.0"].systems["x86_64-linux"].sha256 == replaced.sha256
    assert sidecar.releases["0.1.0"].commit == git(release_repo, "rev-parse", "HEAD~0")


@pytest.mark.slow
def test_a_new_version_keeps_the_old_pin_and_becomes_latest(
    release_repo: Path, wheel_cache: Path
) -> None:
    first = release_worker(release_repo, options(wheel_cache))
    git(release_repo, "add", "releases")
    git(release_repo, "commit", "-q", "-m", "release 0.1.0")
    release_worker(release_repo, options(wheel_cache, "0.2.0"))
    sidecar = load_sidecar(release_repo / "releases" / "worker.json")
    assert sidecar.latest == "0.2.0"
    assert sidecar.releases["0.1.0"].systems["x86_64-linux"].sha256 == first.sha256
    assert (release_repo / "releases" / "worker_0.1.0_linux_x86_64.tar.gz").exists()


@pytest.mark.slow
def test_allow_dirty_builds_from_head_and_says_so(release_repo: Path, wheel_cache: Path) -> None:
    (release_repo / "src/ai_skills/uncommitted.py").write_text("X = 1\n")
    result = release_worker(release_repo, options(wheel_cache, allow_dirty=True))
    assert result.status == "added"
    assert any("NOT in the tarball" in w for w in result.warnings)
    with tarfile.open(result.path) as tar:
        assert "worker-0.1.0/lib/ai_skills/uncommitted.py" not in tar.getnames()
