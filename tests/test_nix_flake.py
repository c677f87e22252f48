"""flake.nix evaluated by the real `nix` with nixpkgs' packages replaced by an offline
stand-in (tests/nix/stub-nixpkgs, with the real vendored nixpkgs lib): the outputs exist with
the conventional shapes, and `lib` gives the bundled catalog as data; and tests/nix/hm-check
evaluates with home-manager's real modules (tests/nix/stub-home-manager). Building anything
needs the real nixpkgs; see docs/deploying.md."""

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
from hm_helpers import HomeManagerSources, require_sources
from nix_helpers import NIX_DIR, REPO, nix_json

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


def stub_nixpkgs(dest: Path, sources: HomeManagerSources | None = None) -> Path:
    """tests/nix/stub-nixpkgs with the real nixpkgs lib beside it."""
    stub = stub_flake(dest, "stub-nixpkgs")
    lib_folder = (sources or require_sources()).nixpkgs_lib
    shutil.copytree(lib_folder, stub / "nixpkgs-lib" / "lib")
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
    nixpkgs = stub_nixpkgs(tmp_path / "nixpkgs", require_sources())
    return FlakeRunner(tmp_path, source, {"nixpkgs": nixpkgs})


@pytest.fixture
def hm_check_nix(tmp_path: Path) -> FlakeRunner:
    """`nix` on tests/nix/hm-check with nixpkgs' packages stubbed and home-manager's real
    modules."""
    sources = require_sources()
    source = copy_checkout(tmp_path / "source")
    home_manager = stub_flake(
        tmp_path / "home-manager", "stub-home-manager", "hm-eval.nix", "hm-pkgs.nix"
    )
    shutil.copytree(sources.home_manager, home_manager / "vendor" / "home-manager")
    shutil.copytree(sources.nixpkgs_lib, home_manager / "vendor" / "nixpkgs-lib" / "lib")
    overrides = {
        "nixpkgs": stub_nixpkgs(tmp_path / "nixpkgs", sources),
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
    assert sorted(shown["apps"]["aarch64-darwin"]) == ["ai-skills", "default", "use-skills"]
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


@pytest.mark.parametrize(
    ("system", "names"),
    [("x86_64-linux", ["ai-skills", "worker"]), ("aarch64-darwin", ["ai-skills"])],
)
def test_overlay_adds_worker_only_where_a_release_exists(
    flake_nix: Any, system: str, names: list[str]
) -> None:
    expr = (
        "overlays: let pkgs = { callPackage = f: _: { name = toString f; }; "
        f'stdenv.hostPlatform.system = "{system}"; }}; '
        "added = overlays.default pkgs pkgs; in "
        "{ names = builtins.attrNames added; ai-skills = added.ai-skills.name; }"
    )
    result = nix_ok(flake_nix("eval", "--json", "--apply", expr, attr="overlays"))
    assert result["names"] == names
    assert result["ai-skills"].endswith("/pkgs/ai-skills")


def test_the_worker_app_runs_the_pinned_release(flake_nix: Any) -> None:
    expr = 'apps: builtins.mapAttrs (_: a: a.worker.program or "none") apps'
    programs = nix_ok(flake_nix("eval", "--json", "--apply", expr, attr="apps"))
    packages = nix_ok(flake_nix("eval", "--json", "--apply", "p: p.outPath",
                                attr="packages.x86_64-linux.worker"))  # fmt: skip
    assert programs["x86_64-linux"] == f"{packages}/bin/worker"
    assert "-worker-" in programs["x86_64-linux"]
    assert programs["aarch64-darwin"] == "none"


def test_the_package_source_carries_the_licence() -> None:
    sources = require_sources()
    files = nix_json(
        expr=f"let lib = import {sources.nixpkgs_lib}; in map toString "
        f"(lib.fileset.toList (import {REPO}/pkgs/ai-skills/source.nix lib))"
    )
    relative = {Path(f).relative_to(REPO).as_posix() for f in files}
    assert {"LICENSE", "pyproject.toml", "README.md", "bin/use_skills.sh"} <= relative
    assert "src/ai_skills/__init__.py" in relative
    assert not any(f.startswith(("tests/", ".venv/")) for f in relative)


def test_hm_check_flake_evaluates_and_its_expectations_hold(hm_check_nix: FlakeRunner) -> None:
    # Its checks are `assert`s around the module's results: evaluating them runs the asserts.
    proc = hm_check_nix("flake", "check", "--no-build")
    assert proc.returncode == 0, proc.stderr
    shown = nix_ok(hm_check_nix("flake", "show", "--json"))
    assert sorted(shown["checks"]["x86_64-linux"]) == [
        "assertions",
        "codex-outside-home",
        "deployed",
        "follows-home-manager",
        "module-tests",
    ]
