"""Install the `use skills` direnv library for people without home-manager."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ai_skills.errors import AiSkillsError
from ai_skills.util.fs import atomic_write_text
from ai_skills.util.xdg import xdg_home

LIBRARY_NAME = "ai-skills.sh"
# The first line of the library; a file without it at the target is the user's, not ours.
SIGNATURE = "# shellcheck shell=bash\n# ai-skills direnv library"


class ForeignFileError(AiSkillsError):
    """A file we did not write is where we want to write ours."""


def library_source() -> Path:
    """The shipped library: inside a wheel, or `bin/use_skills.sh` of a checkout."""
    package = Path(__file__).resolve().parents[1]
    inside_wheel = package / "direnv" / "use_skills.sh"
    if inside_wheel.is_file():
        return inside_wheel
    return package.parent.parent / "bin" / "use_skills.sh"


def library_target(env: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/direnv/lib/ai-skills.sh`, where direnv sources libraries from."""
    return Path(xdg_home(env, "XDG_CONFIG_HOME")) / "direnv" / "lib" / LIBRARY_NAME


def install_library(env: Mapping[str, str], *, dry_run: bool) -> tuple[Path, bool]:
    """Write (or refresh) our library; returns (path, changed). Never overwrites a stranger."""
    target = library_target(env)
    wanted = library_source().read_text(encoding="utf-8")
    try:
        current = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current == wanted:
        return target, False
    if target.is_symlink() or (current is not None and not current.startswith(SIGNATURE)):
        raise ForeignFileError(
            f"{target} exists and was not written by ai-skills; move it aside and run again"
        )
    if not dry_run:
        atomic_write_text(target, wanted)
    return target, True
