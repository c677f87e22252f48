"""`ai-skills check`: is every installed skill what its lock pins, and can the agents see it?

Read-only, so it takes no lock. Per skill: the folder against its content hash (naming
each file changed, added or removed and each mode change, from the file list kept beside
the installed version), what the agents need to see it (a `.skills` line in a repo; each
user link with `--global`), and the ref against its server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ai_skills.errors import CommandError
from ai_skills.install import staging
from ai_skills.install.contenthash import diff_states, folder_states
from ai_skills.install.git_values import FULL_SHA
from ai_skills.install.links import link_problems
from ai_skills.install.lock import LockedSkill, read_lock
from ai_skills.install.scope import Scope
from ai_skills.install.sources import remote_commit


@dataclass(frozen=True)
class CheckResult:
    """One skill's state: local ('ok', 'modified', 'missing'), links, and upstream."""

    name: str
    local: str
    upstream: str  # 'current', 'moved', 'pinned', 'gone', 'unreachable: ...'
    commit: str
    remote: str | None = None
    files: tuple[tuple[str, str], ...] = ()  # (change, path) when 'modified' and known
    links: tuple[str, ...] = ()  # what agents miss: 'not linked: PATH', 'not listed in .skills'

    @property
    def ok(self) -> bool:
        """True when the folder matches its hash, agents see it, and the upstream has not
        moved."""
        return self.local == "ok" and not self.links and self.upstream in ("current", "pinned")


def check_skills(
    scope: Scope, env: Mapping[str, str], *, cwd: Path, upstream: bool = True
) -> list[CheckResult]:
    """Compare every installed folder with its hash, and every ref with its server."""
    results = []
    lock = read_lock(scope.lock_path)
    missing_links = link_problems(scope, lock, env)
    # Skills added together share a source and ref: ask each server about each ref once.
    asked: dict[tuple[str, str | None], tuple[str, str | None]] = {}
    for name, entry in sorted(lock.items()):
        current = staging.installed_hash(scope, name)
        local = "missing" if current is None else "ok" if current == entry.hash else "modified"
        files = _changed_files(scope, name) if local == "modified" else ()
        state, remote = _upstream(entry, asked, cwd=cwd, online=upstream)
        results.append(CheckResult(name, local, state, entry.commit, remote, files,
                                   tuple(missing_links.get(name, ()))))
    return results


def _upstream(
    entry: LockedSkill,
    asked: dict[tuple[str, str | None], tuple[str, str | None]],
    *,
    cwd: Path,
    online: bool,
) -> tuple[str, str | None]:
    """(upstream state, the server's commit when asked), asking each (source, ref) once."""
    if entry.ref is not None and FULL_SHA.fullmatch(entry.ref):
        return "pinned", None
    if not online:
        return "current", None
    key = (entry.source, entry.ref)
    if key not in asked:
        asked[key] = _remote_state(entry, cwd=cwd)
    state, remote = asked[key]
    return ("moved" if remote is not None and remote != entry.commit else state), remote


def _changed_files(scope: Scope, name: str) -> tuple[tuple[str, str], ...]:
    """What changed in an installed folder since it was installed; () when not recorded."""
    recorded = staging.installed_files(scope, name)
    if recorded is None:
        return ()
    return tuple(diff_states(recorded, folder_states((scope.skills_dir / name).resolve())))


def _remote_state(entry: LockedSkill, *, cwd: Path) -> tuple[str, str | None]:
    """('current', commit), ('gone', None) or ('unreachable: ...', None) for entry's ref."""
    try:
        remote = remote_commit(entry.source, entry.ref, cwd=cwd)
    except CommandError as exc:
        return f"unreachable: {exc}", None
    return ("gone" if remote is None else "current"), remote
