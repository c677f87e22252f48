"""Extra rows for `ai-skills list`: pins of installed skills, and what `npx skills` installed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def installed_pins(repo: Path | None, env: Mapping[str, str]) -> dict[tuple[str, str], Any]:
    """(catalog origin, name) -> the pin from the lock of that scope."""
    from ai_skills.install.lock import read_lock
    from ai_skills.install.scope import repo_scope, user_scope

    scopes = [("installed (user)", user_scope(env))]
    if repo is not None:
        scopes.insert(0, ("installed (repo)", repo_scope(repo)))
    pins: dict[tuple[str, str], Any] = {}
    for origin, scope in scopes:
        for name, entry in read_lock(scope.lock_path).items():
            pins[(origin, name)] = entry.as_dict()
    return pins


def npx_rows(repo: Path | None, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """Catalog-shaped rows for every skill recorded in an `npx skills` lock."""
    from ai_skills.install.npx_interop import npx_skills

    rows = []
    for skill in npx_skills(repo, env):
        rows.append({
            "name": skill.name,
            "description": "",
            "path": str(skill.lock_file),
            "origin": f"npx skills ({skill.scope})",
            "valid": True,
            "shadows": [],
            "pin": {"source": skill.source_url or skill.source, "ref": skill.ref,
                    "commit": "", "source_type": skill.source_type,
                    "skill_path": skill.skill_path},
        })
    return rows
