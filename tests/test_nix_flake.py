"""flake.nix evaluated by the real `nix` with nixpkgs replaced by an offline stand-in
(tests/nix/stub-nixpkgs): the outputs exist with the conventional shapes, and `lib` gives
the bundled catalog as data; and tests/nix/hm-check evaluates with a home-manager stand-in.
Building anything needs the real nixpkgs; see docs/deploying.md."""

from __future__ import annotations

import json
import re
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


def copy_checkout(dest: Path) -> Path:
    """The repository's files (tracked and new, not ignored) copied to `dest`."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for rel in filter(None, (f.decode() for f in files)):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


def stub_flake(dest: Path, name: str, *support: str) -> Path:
    """tests/nix/<name>/flake.nix copied to `dest` with the tests/nix files it imports."""
    dest.mkdir()
    shutil.copy(NIX_DIR / name / "flake.nix", dest / "flake.nix")
    for file in support:
        shutil.copy(NIX_DIR / file, dest / file)
    return dest


def stub_nixpkgs(dest: Path) -> Path:
    stub = stub_flake(dest, "stub-nixpkgs", "lib-shim.nix")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    deps = [
        re.split(r"[<>=!~;\[ ]", spec)[0].lower() for spec in pyproject["project"]["dependencies"]
    ]
    (stub / "python-packages.json").write_text(json.dumps([*deps, "hatchling", "pytest"]))
    return stub


class FlakeRunner:
    """Runs `nix` on a flake with some inputs overridden by local paths, in a private store."""

    def __init__(self, tmp_path: Path, flake: Path, overrides: dict[str, Path]) -> None:
        self.nix = require_tool("nix")
        self.store = tmp_path / "store"
        self.flake = flake
        self.overrides = overrides

    def __call__(self, *args: str, attr: str = "") -> subprocess.CompletedProcess[str]:
        argv = [self.nix, "--extra-experimental-features", "nix-command flakes",
                "--store", str(self.store), *args, "--no-write-lock-file"]  # fmt: skip
        for name, path in self.overrides.items():
            argv += ["--override-input", name, f"path:{path}"]
        argv.append(f"path:{self.flake}" + (f"#{attr}" if attr else ""))
        return subprocess.run(argv, capture_output=True, text=True)


@pytest.fixture
def flake_nix(tmp_path: Path) -> FlakeRunner:
    """`nix` on a copy of this flake, with the nixpkgs stand-in as nixpkgs."""
    source = copy_checkout(tmp_path / "source")
    return FlakeRunner(tmp_path, source, {"nixpkgs": stub_nixpkgs(tmp_path / "nixpkgs")})


@pytest.fixture
def hm_check_nix(tmp_path: Path) -> FlakeRunner:
    """`nix` on tests/nix/hm-check with stand-ins for nixpkgs and home-manager."""
    source = copy_checkout(tmp_path / "source")
    home_manager = stub_flake(
        tmp_path / "home-manager", "stub-home-manager", "hm-harness.nix", "lib-shim.nix"
    )
    overrides = {
        "nixpkgs": stub_nixpkgs(tmp_path / "nixpkgs"),
        "home-manager": home_manager,
        "ai-skills": source,
    }
    return FlakeRunner(tmp_path, source / "tests/nix/hm-check", overrides)


def nix_ok(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_flake_show_lists_the_conventional_outputs(flake_nix: Any) -> None:
    shown = nix_ok(flake_nix("flake", "show", "--json"))
    for output in ("packages", "apps", "checks", "devShells", "formatter"):
        assert sorted(shown[output]) == SYSTEMS, output
    linux = "x86_64-linux"
    assert sorted(shown["packages"][linux]) == ["ai-skills", "default", "worker"]
    assert sorted(shown["packages"]["aarch64-darwin"]) == ["ai-skills", "default"]
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


def test_hm_check_flake_evaluates_and_its_expectations_hold(hm_check_nix: FlakeRunner) -> None:
    # Its checks are `assert`s around the module's results: evaluating them runs the asserts.
    proc = hm_check_nix("flake", "check", "--no-build")
    assert proc.returncode == 0, proc.stderr
    shown = nix_ok(hm_check_nix("flake", "show", "--json"))
    assert sorted(shown["checks"]["x86_64-linux"]) == [
        "assertions",
        "codex-outside-home",
        "deployed",
    ]
