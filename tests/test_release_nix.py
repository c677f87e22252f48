"""The pin as Nix sees it: pkgs/worker/pins.nix reads releases/worker.json, the flake's
`packages.<system>.worker` takes the in-repo tarball only if it still has the pinned hash,
and `services.ai-skills.workerPackage` installs it. Real nix-instantiate / nix, fresh stores;
building the package itself needs nixpkgs (see docs/releasing-worker.md)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ai_skills.release.pins import load_sidecar
from conftest import require_tool
from hm_helpers import HomeManager, require_sources
from nix_helpers import REPO, nix_eval, nix_json, nix_string
from release_helpers import fake_release, flip_byte
from test_nix_flake import FlakeRunner, copy_checkout, nix_ok, stub_nixpkgs

pytestmark = pytest.mark.nix

PINS = REPO / "pkgs" / "worker" / "pins.nix"


def pin_expr(sidecar: Path, **args: str) -> str:
    given = " ".join(f"{k} = {v};" for k, v in args.items())
    return f"(import {PINS} {{ sidecar = {sidecar}; }}).pin {{ {given} }}"


def test_pins_nix_reads_what_the_sidecar_records() -> None:
    sidecar = load_sidecar(REPO / "releases" / "worker.json")
    assert sidecar.latest is not None
    release = sidecar.releases[sidecar.latest]
    pin = nix_json(expr=pin_expr(REPO / "releases/worker.json", system='"x86_64-linux"'))
    expected = release.systems["x86_64-linux"]
    assert pin == {
        "version": sidecar.latest, "system": "x86_64-linux", "file": expected.file,
        "sha256": expected.sha256, "url": expected.url, "python": release.python,
        "commit": release.commit, "localSrc": None,
    }  # fmt: skip


def test_pins_nix_names_the_systems_a_release_has(tmp_path: Path) -> None:
    fake_release(tmp_path / "releases")
    expr = f"import {PINS} {{ sidecar = {tmp_path}/releases/worker.json; }}"
    pins = nix_eval(expr=f"let p = {expr}; in [ (p.supports \"x86_64-linux\") "
                         f"(p.supports \"aarch64-darwin\") p.latest ]")  # fmt: skip
    assert json.loads(pins.stdout) == [True, False, "0.1.0"]
    missing = nix_eval(expr=pin_expr(tmp_path / "releases/worker.json",
                                     system='"aarch64-darwin"'))  # fmt: skip
    assert missing.returncode != 0
    assert "worker 0.1.0: no release tarball for aarch64-darwin (only x86_64-linux)" in (
        missing.stderr
    )
    unknown = nix_eval(expr="(" + pin_expr(tmp_path / "releases/worker.json",
                                           system='"x86_64-linux"', version='"9.9.9"') + ").file")
    assert "worker: version 9.9.9 is not in releases/worker.json (known: 0.1.0)" in unknown.stderr


def local_src(releases: Path, store: Path) -> subprocess.CompletedProcess[str]:
    expr = pin_expr(releases / "worker.json", system='"x86_64-linux"', releaseDir=str(releases))
    argv = [require_tool("nix-instantiate"), "--eval", "--strict", "--json",
            "--store", str(store), "-E", f"({expr}).localSrc"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True)


def test_the_in_repo_tarball_is_taken_only_with_the_pinned_hash(tmp_path: Path) -> None:
    tarball = fake_release(tmp_path / "releases")
    good = local_src(tmp_path / "releases", tmp_path / "store-1")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout).endswith(f"-{tarball.name}")
    flip_byte(tarball)
    bad = local_src(tmp_path / "releases", tmp_path / "store-2")
    assert bad.returncode != 0
    assert "mismatch" in bad.stderr


@pytest.fixture
def flake(tmp_path: Path) -> FlakeRunner:
    source = copy_checkout(tmp_path / "source")
    return FlakeRunner(tmp_path, source, {"nixpkgs": stub_nixpkgs(tmp_path / "nixpkgs")})


def test_flake_worker_package_uses_the_pinned_in_repo_tarball(flake: FlakeRunner) -> None:
    sidecar = load_sidecar(REPO / "releases" / "worker.json")
    assert sidecar.latest is not None
    pin = sidecar.releases[sidecar.latest].systems["x86_64-linux"]
    name = nix_ok(flake("eval", "--json", attr="packages.x86_64-linux.worker.name"))
    assert name == f"worker-{sidecar.latest}"
    src = nix_ok(flake("eval", "--json", attr="packages.x86_64-linux.worker.src"))
    assert src.endswith(f"-{pin.file}")
    platforms = nix_ok(flake("eval", "--json", attr="packages.x86_64-linux.worker.meta.platforms"))
    assert platforms == sorted(sidecar.releases[sidecar.latest].systems)


def test_flake_worker_package_refuses_a_tampered_tarball(flake: FlakeRunner) -> None:
    sidecar = load_sidecar(REPO / "releases" / "worker.json")
    assert sidecar.latest is not None
    flip_byte(flake.flake / "releases" / sidecar.releases[sidecar.latest].systems[
        "x86_64-linux"].file)  # fmt: skip
    proc = flake("eval", "--json", attr="packages.x86_64-linux.worker.src")
    assert proc.returncode != 0
    assert "mismatch" in proc.stderr


# pkgs/worker/default.nix with stand-ins for what it takes from nixpkgs: mkDerivation and
# fetchurl hand back their arguments, so the test sees the source, phases and meta.
WORKER_ARGS = """{
  lib = {
    licenses.mit = "mit";
    sourceTypes = { fromSource = "s"; binaryNativeCode = "b"; };
    makeBinPath = ps: builtins.concatStringsSep ":" (map (p: "${p}/bin") ps);
  };
  coreutils = "/coreutils";
  stdenv = { hostPlatform.system = SYSTEM; cc.cc.lib = "gcc-lib"; mkDerivation = a: a; };
  fetchurl = a: { fetched = a; };
  makeWrapper = "makeWrapper";
  autoPatchelfHook = "autoPatchelfHook";
  python311 = { pythonVersion = PYVER; interpreter = "/py/bin/python3.11"; };
}"""


def worker_drv(extra: str = "", *, system: str = "x86_64-linux", python: str = "3.11") -> str:
    args = WORKER_ARGS.replace("SYSTEM", nix_string(system)).replace("PYVER", nix_string(python))
    return f"import {REPO / 'pkgs/worker'} ({args} // {{ {extra} }})"


def test_worker_package_fetches_the_pinned_url_with_the_pinned_hash() -> None:
    sidecar = load_sidecar(REPO / "releases" / "worker.json")
    assert sidecar.latest is not None
    pin = sidecar.releases[sidecar.latest].systems["x86_64-linux"]
    drv = nix_json(expr=f"let d = {worker_drv()}; in {{ inherit (d) src version "
                        "installPhase installCheckPhase; platforms = d.meta.platforms; }")
    assert drv["src"] == {"fetched": {"url": pin.url, "hash": pin.sha256}}
    assert drv["version"] == sidecar.latest
    assert f'"worker {sidecar.latest}"' in drv["installCheckPhase"]
    assert "--set WORKER_PYTHON /py/bin/python3.11" in drv["installPhase"]
    assert drv["platforms"] == ["x86_64-linux"]
    mirror_url = 'url = "file:///mirror/w.tgz";'
    mirror = nix_json(expr=f"({worker_drv(mirror_url)}).src")
    assert mirror == {"fetched": {"url": "file:///mirror/w.tgz", "hash": pin.sha256}}


def test_worker_package_refuses_another_python_or_system() -> None:
    wrong_python = nix_eval(expr=f"({worker_drv(python='3.12')}).version")
    assert "the tarball supports CPython 3.11, not 3.12" in wrong_python.stderr
    wrong_system = nix_eval(expr=f"({worker_drv(system='aarch64-darwin')}).src")
    assert "no release tarball for aarch64-darwin" in wrong_system.stderr


def module_packages(**settings: Any) -> list[str]:
    """The packages the module installs, evaluated inside the real home-manager."""
    system = settings.pop("system", "x86_64-linux")
    config = {"services": {"ai-skills": {"enable": True, **settings}}}
    result = HomeManager(require_sources()).evaluate(config, system=system)
    return [name for name in result["packages"] if name.endswith("-from-callPackage")]


def test_module_installs_the_pinned_worker_by_default() -> None:
    assert module_packages() == ["ai-skills-from-callPackage", "worker-from-callPackage"]


def test_module_worker_package_null_opts_out() -> None:
    assert module_packages(workerPackage=None) == ["ai-skills-from-callPackage"]


def test_module_installs_no_worker_where_no_tarball_exists() -> None:
    assert module_packages(system="aarch64-darwin") == ["ai-skills-from-callPackage"]
