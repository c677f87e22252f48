"""Scopes: where a repo's or the user's installed skills and their lock file live.

Apart from staging (which changes them) so that `ai-skills add` can name its scope, and
refuse to run outside a repository, before it loads the install side.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ai_skills.skills.catalog import INSTALLED_REPO_DIR, user_installed_dir
from ai_skills.util.xdg import xdg_home

REPO_LOCK_FILE = "ai-skills.lock.json"
VERSIONS = ".versions"


class Scope(NamedTuple):
    """Where one scope keeps installed skills and its lock file."""

    kind: str  # "repo" or "user"
    skills_dir: Path
    lock_path: Path
    repo: Path | None = None

    @property
    def versions(self) -> Path:
        """Folder of content-addressed versions."""
        return self.skills_dir / VERSIONS

    @property
    def mutation_lock(self) -> Path:
        """File lock held while a run changes this scope."""
        return self.skills_dir.parent / "install.lock"


def repo_scope(repo: Path) -> Scope:
    """Per-repo installs: `REPO/.ai-skills/skills`, pinned in `REPO/ai-skills.lock.json`."""
    return Scope("repo", repo / INSTALLED_REPO_DIR, repo / REPO_LOCK_FILE, repo=repo)


def user_scope(env: Mapping[str, str]) -> Scope:
    """User installs: `$XDG_DATA_HOME/ai-skills/skills`, `$XDG_CONFIG_HOME/ai-skills/lock.json`."""
    return Scope("user", user_installed_dir(env), Path(xdg_home(env, "XDG_CONFIG_HOME"))
                 / "ai-skills" / "lock.json")
