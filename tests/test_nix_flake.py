"""flake.nix evaluated by the real `nix` with nixpkgs replaced by an offline stand-in
(tests/nix/stub-nixpkgs): the outputs exist with the conventional shapes, and `lib` gives
the bundled catalog as data. Building anything needs the real nixpkgs; see docs/deploying.md."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import require_tool
from nix_helpers import NIX_DIR, REPO

pytestmark = pytest.mark.nix

SYSTEMS = ["aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"]


@pytest.fixture
def flake_nix(tmp_path: Path) -> Any:
    """Run `nix <args> path:<copy of the repo>#<attr>` with the stub as nixpkgs."""
    nix = require_tool("nix")
    source = tmp_path / "source"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for rel in filter(None, (f.decode() for f in files)):
        if (REPO / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, source / rel)

    stub = tmp_path / "stub"
    stub.mkdir()
    shutil.copy(NIX_DIR / "stub-nixpkgs" / "flake.nix", stub / "flake.nix")
    shutil.copy(NIX_DIR / "lib-shim.nix", stub / "lib-shim.nix")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    deps = [
        spec.split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for spec in pyproject["project"]["dependencies"]
    ]
    (stub / "python-packages.json").write_text(json.dumps([*deps, "hatchling", "pytest"]))

    def run(*args: str, attr: str = "") -> subprocess.CompletedProcess[str]:
        argv = [
            nix, "--extra-experimental-features", "nix-command flakes",
            "--store", str(tmp_path / "store"),
            *args,
            "--no-write-lock-file", "--override-input", "nixpkgs", f"path:{stub}",
            f"path:{source}" + (f"#{attr}" if attr else ""),
        ]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True)

    return run


def nix_ok(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_flake_show_lists_the_conventional_outputs(flake_nix: Any) -> None:
    shown = nix_ok(flake_nix("flake", "show", "--json"))
    for output in ("packages", "apps", "checks", "devShells", "formatter"):
        assert sorted(shown[output]) == SYSTEMS, output
    linux = "x86_64-linux"
    assert sorted(shown["packages"][linux]) == ["ai-skills", "default"]
    assert shown["packages"][linux]["default"]["name"] == "ai-skills-0.1.0"
    assert sorted(shown["apps"][linux]) == ["ai-skills", "default", "use-skills", "worker"]
    assert {"package", "nix-tests", "python-vectors"} <= set(shown["checks"][linux])
    assert sorted(shown["overlays"]) == ["default"]
    for unknown in ("homeManagerModules", "homeModules", "lib"):
        assert unknown in shown


def test_flake_check_evaluates_without_building(flake_nix: Any) -> None:
    proc = flake_nix("flake", "check", "--no-build")
    assert proc.returncode == 0, proc.stderr


def test_home_manager_modules_point_at_the_module(flake_nix: Any) -> None:
    names = nix_ok(flake_nix("eval", "--json", "--apply", "builtins.attrNames",
                             attr="homeManagerModules"))  # fmt: skip
    assert names == ["ai-skills", "default"]
    for attr in ("homeManagerModules.default", "homeModules.ai-skills"):
        path = nix_ok(flake_nix("eval", "--json", "--apply", "toString", attr=attr))
        assert path.endswith("/modules/ai-skills.nix")


def test_lib_exposes_the_bundled_catalog_as_data(flake_nix: Any) -> None:
    skills = nix_ok(flake_nix("eval", "--json", attr="lib.skills"))
    bundled = sorted(p.parent.name for p in (REPO / "skills").glob("*/SKILL.md"))
    assert sorted(skills) == bundled
    for name, entry in skills.items():
        assert entry["path"].endswith(f"-{name}")
        assert entry["description"].strip()


def test_overlay_adds_the_package(flake_nix: Any) -> None:
    expr = (
        "overlays: let final = { callPackage = f: _: { name = toString f; }; }; "
        "in (overlays.default final { }).ai-skills.name"
    )
    path = nix_ok(flake_nix("eval", "--json", "--apply", expr, attr="overlays"))
    assert path.endswith("/pkgs/ai-skills")
