"""Every .nix file in the repository parses with the real nix-instantiate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import require_tool
from nix_helpers import REPO

pytestmark = pytest.mark.nix


def tracked_nix_files() -> list[Path]:
    git = shutil.which("git")
    if git is not None:
        listed = subprocess.run(
            [git, "ls-files", "--cached", "--others", "--exclude-standard", "*.nix"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if listed.returncode == 0 and listed.stdout.strip():
            return [REPO / line for line in sorted(listed.stdout.splitlines())]
    # Not a git checkout (e.g. the flake's source in a Nix build): walk the tree instead.
    return sorted(p for p in REPO.rglob("*.nix") if ".venv" not in p.parts)


NIX_FILES = tracked_nix_files()


def test_the_nix_files_are_found() -> None:
    names = {p.relative_to(REPO).as_posix() for p in NIX_FILES}
    assert {"flake.nix", "modules/ai-skills.nix", "modules/lib.nix"} <= names


@pytest.mark.parametrize("path", NIX_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_nix_file_parses(path: Path) -> None:
    proc = subprocess.run(
        [require_tool("nix-instantiate"), "--parse", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_a_syntax_error_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.nix"
    broken.write_text("{ a = 1; \n")
    proc = subprocess.run(
        [require_tool("nix-instantiate"), "--parse", str(broken)], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "syntax error" in proc.stderr
