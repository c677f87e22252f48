"""Evaluating modules/ai-skills.nix inside the real home-manager (tests/nix/hm-eval.nix).

Where the home-manager sources come from, in order:
1. `AI_SKILLS_HM_VENDOR`: a folder holding `home-manager/` and `nixpkgs-lib/` (`.ci/run`
   sets it to `../shared/vendor`; a relative value is taken from the repository root);
2. the `home-manager` and `nixpkgs` inputs of tests/nix/hm-check, when `nix` can fetch them;
3. neither: the test fails in CI and is skipped elsewhere, with the reason.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import IN_CI, require_tool
from nix_helpers import NIX_DIR, REPO, nix_string, to_nix

VENDOR_VAR = "AI_SKILLS_HM_VENDOR"
HOME = "/home/ada"


@dataclass(frozen=True)
class HomeManagerSources:
    """A home-manager source tree and the nixpkgs `lib/` folder to evaluate it with."""

    home_manager: Path
    nixpkgs_lib: Path
    origin: str


def _from_vendor(value: str) -> HomeManagerSources | str:
    folder = Path(value)
    if not folder.is_absolute():
        folder = (REPO / folder).resolve()
    sources = HomeManagerSources(folder / "home-manager", folder / "nixpkgs-lib" / "lib", value)
    if not (sources.home_manager / "modules" / "files.nix").is_file():
        return f"{VENDOR_VAR}={value} ({folder}) holds no home-manager/modules/files.nix"
    if not (sources.nixpkgs_lib / "default.nix").is_file():
        return f"{VENDOR_VAR}={value} ({folder}) holds no nixpkgs-lib/lib/default.nix"
    return sources


def _from_flake() -> HomeManagerSources | str:
    nix = shutil.which("nix")
    if nix is None:
        return "`nix` is not installed, so tests/nix/hm-check's inputs cannot be fetched"
    argv = [nix, "--extra-experimental-features", "nix-command flakes", "eval", "--json",
            "--option", "connect-timeout", "10",
            "--no-write-lock-file", "--override-input", "ai-skills", f"path:{REPO}",
            f"path:{NIX_DIR / 'hm-check'}#lib.testInputs"]  # fmt: skip
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "fetching tests/nix/hm-check's inputs took more than 300 s"
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        reason = errors[-1] if errors else f"nix exited with {proc.returncode}"
        return f"Nix could not fetch tests/nix/hm-check's inputs ({reason})"
    paths = json.loads(proc.stdout)
    return HomeManagerSources(
        Path(paths["home-manager"]), Path(paths["nixpkgs-lib"]), "tests/nix/hm-check inputs"
    )


@functools.cache
def find_sources() -> HomeManagerSources | str:
    """The home-manager sources to test against, or why there are none."""
    vendor = os.environ.get(VENDOR_VAR, "")
    if vendor:
        return _from_vendor(vendor)
    found = _from_flake()
    if isinstance(found, str):
        return f"{VENDOR_VAR} is not set and {found}"
    return found


def require_sources() -> HomeManagerSources:
    """The sources; skip the test locally, fail it in CI, when there are none."""
    require_tool("nix-instantiate")
    found = find_sources()
    if isinstance(found, str):
        if IN_CI:
            pytest.fail(found + f" (CI must set {VENDOR_VAR})")
        pytest.skip(found)
    return found


@dataclass(frozen=True)
class HomeManager:
    """Runs tests/nix/hm-eval.nix with one set of home-manager sources."""

    sources: HomeManagerSources

    def expression(self, modules: list[Any], *, home: str = HOME,
                   system: str = "x86_64-linux") -> str:  # fmt: skip
        """The Nix expression of the evaluation (hm-eval.nix's result)."""
        args = (
            f"homeManager = /. + {nix_string(str(self.sources.home_manager))}; "
            f"nixpkgsLib = /. + {nix_string(str(self.sources.nixpkgs_lib))}; "
            f"homeDirectory = {nix_string(home)}; system = {nix_string(system)}; "
            f"modules = {to_nix(modules)};"
        )
        return f"(import {NIX_DIR / 'hm-eval.nix'} {{ {args} }})"

    def run(self, modules: list[Any], body: str = "r.summary", **kwargs: Any
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """`nix-instantiate --eval --strict --json` of `body`, with `r` the evaluation."""
        expression = f"let r = {self.expression(modules, **kwargs)}; in {body}"
        argv = [require_tool("nix-instantiate"), "--eval", "--strict", "--json",
                "--store", "dummy://", "-E", expression]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO)

    def json(self, modules: list[Any], body: str = "r.summary", **kwargs: Any) -> Any:
        """The JSON value of a successful evaluation; fails the test with Nix's stderr."""
        proc = self.run(modules, body, **kwargs)
        assert proc.returncode == 0, f"nix-instantiate failed:\n{proc.stderr}"
        return json.loads(proc.stdout)

    def evaluate(self, *modules: Any, **kwargs: Any) -> Any:
        """files, activation, sessionVariables, packages, failedAssertions and warnings."""
        return self.json(list(modules), **kwargs)


@pytest.fixture
def hm() -> HomeManager:
    """The real home-manager module system, ready to evaluate configurations."""
    return HomeManager(require_sources())


def write_skill(catalog: Path, name: str, *, front_name: str | None = None) -> Path:
    folder = catalog / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        f"---\nname: {front_name or name}\ndescription: The {name} skill.\n---\n"
    )
    return folder


@pytest.fixture
def catalogs(tmp_path: Path) -> dict[str, Path]:
    """Two extra catalog dirs: `mine` (alpha, beta) searched before `team` (alpha, gamma)."""
    mine, team = tmp_path / "mine", tmp_path / "team"
    for catalog, names in ((mine, ("alpha", "beta")), (team, ("alpha", "gamma"))):
        for name in names:
            write_skill(catalog, name)
    return {"mine": mine, "team": team}


def ai_skills(catalogs: dict[str, Path], **settings: Any) -> dict[str, Any]:
    dirs = [str(catalogs["mine"]), str(catalogs["team"])]
    return {"services": {"ai-skills": {"enable": True, "extraSkillDirs": dirs, **settings}}}


def ours(result: dict[str, Any]) -> dict[str, str]:
    """Our home.file targets (home-manager's own `.keep` files left out) -> source."""
    return {t: f["source"] for t, f in result["files"].items() if not t.endswith("/.keep")}
