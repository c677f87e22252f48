"""`release verify`: every pinned file matches its pin, by hashlib and by real Nix in a
fresh store; tampering, hand edits and missing files fail naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_skills.release.errors import ReleaseError
from ai_skills.release.verify import verify_releases
from conftest import require_tool
from release_helpers import fake_release, flip_byte


def failures(releases: Path, *, use_nix: bool) -> list[tuple[str, str]]:
    report = verify_releases(releases, use_nix=use_nix)
    return [(Path(c.file).name, c.method) for c in report.checks if not c.ok]


def test_a_matching_release_passes(tmp_path: Path) -> None:
    fake_release(tmp_path / "releases")
    report = verify_releases(tmp_path / "releases", use_nix=False)
    assert report.ok and [c.method for c in report.checks] == ["python"]


def test_a_tampered_tarball_fails_naming_it(tmp_path: Path) -> None:
    tarball = fake_release(tmp_path / "releases")
    fake_release(tmp_path / "releases", "0.2.0")
    flip_byte(tarball)
    report = verify_releases(tmp_path / "releases", use_nix=False)
    assert not report.ok
    assert failures(tmp_path / "releases", use_nix=False) == [(tarball.name, "python")]
    bad = next(c for c in report.checks if not c.ok)
    assert bad.detail.startswith("pinned sha256-") and ", file has sha256-" in bad.detail


def test_a_hand_edited_pin_fails(tmp_path: Path) -> None:
    tarball = fake_release(tmp_path / "releases")
    other = fake_release(tmp_path / "other", body=b"something else\n")
    sidecar = tmp_path / "releases" / "worker.json"
    data = json.loads(sidecar.read_text())
    other_pin = json.loads((tmp_path / "other" / "worker.json").read_text())
    data["releases"]["0.1.0"]["systems"]["x86_64-linux"]["sha256"] = other_pin["releases"][
        "0.1.0"]["systems"]["x86_64-linux"]["sha256"]  # fmt: skip
    sidecar.write_text(json.dumps(data))
    assert other.exists()
    assert failures(tmp_path / "releases", use_nix=False) == [(tarball.name, "python")]


def test_a_missing_file_fails_naming_it(tmp_path: Path) -> None:
    tarball = fake_release(tmp_path / "releases")
    tarball.unlink()
    report = verify_releases(tmp_path / "releases", use_nix=False)
    assert [(Path(c.file).name, c.detail) for c in report.checks] == [
        (tarball.name, "0.1.0/x86_64-linux: file is missing")
    ]


def test_a_pin_naming_a_foreign_file_fails(tmp_path: Path) -> None:
    fake_release(tmp_path / "releases")
    sidecar = tmp_path / "releases" / "worker.json"
    sidecar.write_text(sidecar.read_text().replace("worker_0.1.0_linux", "../worker_0.1.0_linux"))
    report = verify_releases(tmp_path / "releases", use_nix=False)
    assert not report.ok and report.checks[0].method == "sidecar"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(schema=2), "schema 2 is not supported"),
        (lambda d: d["releases"]["0.1.0"]["systems"]["x86_64-linux"].update(sha256="abc"),
         "invalid pin sidecar at releases.0.1.0.systems.x86_64-linux.sha256"),
        (lambda d: d["releases"].update({"one": d["releases"]["0.1.0"]}), "'one' is not a semver"),
    ],
)
def test_a_broken_sidecar_is_an_error_naming_it(tmp_path: Path, edit: object, message: str) -> None:
    fake_release(tmp_path / "releases")
    sidecar = tmp_path / "releases" / "worker.json"
    data = json.loads(sidecar.read_text())
    edit(data)  # type: ignore[operator]
    sidecar.write_text(json.dumps(data))
    with pytest.raises(ReleaseError, match=f"worker.json: .*{message}"):
        verify_releases(tmp_path / "releases", use_nix=False)


def test_no_sidecar_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "releases").mkdir()
    with pytest.raises(ReleaseError, match="releases/worker.json: no pin sidecar"):
        verify_releases(tmp_path / "releases", use_nix=False)


def test_an_unpinned_tarball_is_a_warning(tmp_path: Path) -> None:
    fake_release(tmp_path / "releases")
    (tmp_path / "releases" / "worker_9.9.9_linux_x86_64.tar.gz").write_bytes(b"stray")
    report = verify_releases(tmp_path / "releases", use_nix=False)
    assert report.ok
    assert report.warnings == [
        f"{tmp_path / 'releases' / 'worker_9.9.9_linux_x86_64.tar.gz'}: not pinned in worker.json"
    ]


@pytest.mark.nix
def test_nix_agrees_with_python_on_a_good_release(tmp_path: Path) -> None:
    require_tool("nix-instantiate")
    fake_release(tmp_path / "releases")
    report = verify_releases(tmp_path / "releases", use_nix=True)
    assert report.nix and report.ok
    assert [c.method for c in report.checks] == ["python", "nix-hashFile", "nix-fetchurl"]


@pytest.mark.nix
def test_one_flipped_byte_fails_in_nix_too_in_a_fresh_store(tmp_path: Path) -> None:
    require_tool("nix-instantiate")
    tarball = fake_release(tmp_path / "releases")
    # A good run first: every run fetches into a new store, so the next one hashes again.
    assert verify_releases(tmp_path / "releases", use_nix=True).ok
    flip_byte(tarball)
    report = verify_releases(tmp_path / "releases", use_nix=True)
    bad = {c.method: c.detail for c in report.checks if not c.ok}
    assert set(bad) == {"python", "nix-hashFile", "nix-fetchurl"}
    assert "hash mismatch" in bad["nix-fetchurl"]
    assert all(Path(c.file).name == tarball.name for c in report.checks)
