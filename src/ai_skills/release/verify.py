"""`ai-skills release verify`: every pinned file matches its pin, by Python and by Nix.

Nix checks run only where `nix-instantiate` is installed: `builtins.hashFile` reads the
file itself, and `builtins.fetchurl` in a brand-new store proves the pin is what a Nix
build would accept (a store that already holds the hash would not re-check it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ai_skills.release.errors import ReleaseError
from ai_skills.release.pins import SIDECAR_NAME, load_sidecar, sri_from_hex, sri_sha256

_TARBALL = re.compile(r"^worker_.+\.tar\.gz$")


@dataclass(frozen=True)
class Check:
    """One check of one file: `method` is python, nix-hashFile, nix-fetchurl or sidecar."""

    file: str
    method: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"file": self.file, "method": self.method, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class VerifyReport:
    """All checks of one `releases/` folder, and whether Nix took part."""

    sidecar: Path
    checks: list[Check]
    nix: bool
    warnings: list[str]

    @property
    def ok(self) -> bool:
        """True when every check passed (warnings do not count)."""
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"ok": self.ok, "nix": self.nix, "sidecar": str(self.sidecar),
                "checks": [c.as_dict() for c in self.checks], "warnings": self.warnings}


def verify_releases(releases: Path, *, use_nix: bool = True) -> VerifyReport:
    """Check every sidecar entry of `releases/` against its file."""
    sidecar_path = releases / SIDECAR_NAME
    if not sidecar_path.is_file():
        raise ReleaseError(f"{sidecar_path}: no pin sidecar; run `ai-skills release worker` first")
    sidecar = load_sidecar(sidecar_path)
    nix = shutil.which("nix-instantiate") if use_nix else None
    checks: list[Check] = []
    pinned: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="ai-skills-verify-store-") as store:
        for version, release in sidecar.releases.items():
            for system, pin in release.systems.items():
                path = releases / pin.file
                pinned.add(pin.file)
                checks += _check_entry(path, version, system, pin.file, pin.sha256, nix, store)
    if sidecar.latest is not None and sidecar.latest not in sidecar.releases:
        checks.append(Check(str(sidecar_path), "sidecar", False,
                            f"latest {sidecar.latest!r} is not a recorded release"))  # fmt: skip
    strays = sorted(p.name for p in releases.glob("worker_*.tar.gz") if p.name not in pinned)
    warnings = [f"{releases / name}: not pinned in {SIDECAR_NAME}" for name in strays]
    return VerifyReport(sidecar_path, checks, nix is not None, warnings)


def _check_entry(
    path: Path, version: str, system: str, file: str, sri: str, nix: str | None, store: str
) -> list[Check]:
    name = str(path)
    if "/" in file or not _TARBALL.match(file) or f"_{version}_" not in file:
        return [Check(name, "sidecar", False,
                      f"{version}/{system}: file name {file!r} is not worker_{version}_*.tar.gz")]
    if not path.is_file():
        return [Check(name, "python", False, f"{version}/{system}: file is missing")]
    actual = sri_sha256(path.read_bytes())
    checks = [_compare(name, "python", sri, actual)]
    if nix is not None:
        checks.append(_nix_hash_file(nix, path, sri))
        checks.append(_nix_fetchurl(nix, path, sri, store))
    return checks


def _compare(name: str, method: str, pinned: str, actual: str) -> Check:
    if pinned == actual:
        return Check(name, method, True, pinned)
    return Check(name, method, False, f"pinned {pinned}, file has {actual}")


def _nix_eval(nix: str, expr: str, *, store: str) -> subprocess.CompletedProcess[str]:
    argv = [nix, "--eval", "--strict", "--json", "--store", store, "-E", expr]
    return subprocess.run(argv, capture_output=True, text=True)


def _nix_hash_file(nix: str, path: Path, sri: str) -> Check:
    expr = f"builtins.hashFile \"sha256\" {_nix_path(path)}"
    proc = _nix_eval(nix, expr, store="dummy://")
    if proc.returncode != 0:
        return Check(str(path), "nix-hashFile", False, _last_line(proc.stderr))
    return _compare(str(path), "nix-hashFile", sri, sri_from_hex(json.loads(proc.stdout)))


def _nix_fetchurl(nix: str, path: Path, sri: str, store: str) -> Check:
    url = json.dumps("file://" + str(path.resolve()))
    expr = f"builtins.fetchurl {{ url = {url}; sha256 = {json.dumps(sri)}; }}"
    proc = _nix_eval(nix, expr, store=store)
    if proc.returncode != 0:
        return Check(str(path), "nix-fetchurl", False, _last_line(proc.stderr))
    return Check(str(path), "nix-fetchurl", True, f"fetched as {json.loads(proc.stdout)}")


def _nix_path(path: Path) -> str:
    # A quoted absolute path string works for any file name, unlike a bare path literal.
    return f"(/. + {json.dumps(str(path.resolve()))})"


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    mismatch = [line for line in lines if "hash mismatch" in line or "specified:" in line
                or "got:" in line]  # fmt: skip
    return " ".join(mismatch) if mismatch else (lines[-1] if lines else "nix failed")
