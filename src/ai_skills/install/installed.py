"""`ai-skills install / update / remove`: installed skills, pinned in a lock (`add` is in
`add.py`; both report through `Report`).

What can be judged without changing anything (names, an uneditable `.skills`) is judged
first, so a refused command leaves no trace. Then each operation takes the scope's lock
(`staging.locked`), reads the lock file again, and inside that one lock changes the
installed folders, writes the lock file (atomically, after every folder is in place),
lists the names in `.skills` and links the skills for the agents: a repo scope through
the same sync `use-skills` runs, the user scope through the deploy engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ai_skills.deploy.agents import table
from ai_skills.deploy.engine import Step
from ai_skills.errors import AiSkillsError, ManifestError
from ai_skills.install import staging
from ai_skills.install.contenthash import FileState, diff_states, folder_states
from ai_skills.install.git_values import FULL_SHA
from ai_skills.install.links import edit_manifest, link_scope
from ai_skills.install.lock import LockedSkill, read_lock, write_lock
from ai_skills.install.scope import Scope
from ai_skills.install.sources import SourceCache
from ai_skills.install.staging import InstallError


class SelectionError(AiSkillsError):
    """The skills asked for are not in the source."""

    exit_code = 2


class Change(NamedTuple):
    """What happened to one skill."""

    name: str
    action: str  # installed, updated, restored, unchanged, removed, pinned
    old_commit: str | None = None
    new_commit: str | None = None
    files: tuple[tuple[str, str], ...] = ()


class Report:
    """Changes made, links made, and problems found while linking (filled in as a command
    runs)."""

    __slots__ = ("changes", "linked", "errors", "warnings", "repo")

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.linked: list[Step] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.repo: Path | None = None  # of a repo scope (paths are shown relative to it)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (what `--json` prints)."""
        return {
            "changes": [
                {"name": c.name, "action": c.action, "old_commit": c.old_commit,
                 "new_commit": c.new_commit,
                 "files": [{"change": k, "path": p} for k, p in c.files]}
                for c in self.changes
            ],
            "linked": [{"action": s.action.value, "target": str(s.target), "source": s.source}
                       for s in self.linked],
            "errors": self.errors, "warnings": self.warnings,
        }


def install_locked(
    scope: Scope,
    cache: SourceCache,
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None = None,
) -> Report:
    """Make the installed folders exactly what the lock pins (verified by hash), then link
    (for `agents` too, when given: recorded in the user lock, or the repo's `.skills`).

    Every skill that can be installed is; each one that cannot is reported in `errors`.
    """
    report = Report()
    lock = read_lock(scope.lock_path)
    if not agents and not _needs_change(scope, lock):
        link_and_report(scope, lock, env, agents=None, report=report)
        return report
    with staging.locked(scope):
        if agents and scope.kind == "user":
            _add_user_agents(scope, list(agents))
        lock = read_lock(scope.lock_path)
        for name in sorted(lock):
            entry = lock[name]
            if staging.installed_hash(scope, name) == entry.hash:
                continue
            action = "restored" if staging.owns(scope, name) else "installed"
            try:
                _restore(scope, cache, name, entry)
            except AiSkillsError as exc:
                report.errors.append(str(exc))
                continue
            report.changes.append(Change(name, action, None, entry.commit))
        try:
            link_and_report(scope, lock, env, agents=agents, report=report, edit=True)
        except AiSkillsError as exc:
            report.errors.append(str(exc))
    return report


def _needs_change(scope: Scope, lock: Mapping[str, LockedSkill]) -> bool:
    """True when a folder differs from its pin, a killed run left something behind, or
    `.skills` misses a pinned name (so `install` must take the lock)."""
    if any(staging.installed_hash(scope, name) != e.hash for name, e in lock.items()):
        return True
    if staging.garbage(scope):
        return True
    return scope.repo is not None and bool(lock) and _unlisted(scope.repo, lock)


def _unlisted(repo: Path, lock: Mapping[str, LockedSkill]) -> bool:
    from ai_skills.deploy.manifest_edit import problem
    from ai_skills.deploy.use_skills import MANIFEST, read_manifest

    try:
        if problem(repo / MANIFEST) is None:
            return not set(lock) <= set(read_manifest(repo).names)
    except ManifestError:
        pass
    return True  # unreadable: the locked run reports it


def _add_user_agents(scope: Scope, agents: list[str]) -> None:
    """Record `agents` for every skill of the user lock (under the lock), so later runs keep
    their links."""
    lock = read_lock(scope.lock_path)
    merged = {
        name: entry._replace(agents=tuple(
            dict.fromkeys([*(entry.agents or table().defaults), *agents])))
        for name, entry in lock.items()
    }
    if merged != lock:
        write_lock(scope.lock_path, merged)


def _restore(scope: Scope, cache: SourceCache, name: str, entry: LockedSkill) -> None:
    commit = cache.resolve(entry.source, entry.commit)
    staged = staging.fetch_and_stage(scope, cache, name=name, url=entry.source,
                                     commit=commit, path=entry.path)
    if staged.digest != entry.hash:
        staging.discard(staged)
        raise InstallError(
            f"{scope.lock_path}: '{name}' from {entry.source} @ {entry.commit[:12]} hashes to "
            f"{staged.digest}, but the lock pins {entry.hash}; the lock was edited or the "
            f"source rewritten. '{name}' was not installed; re-pin it with "
            f"`ai-skills update {name}`"
        )
    staging.activate(scope, staged)


def update_skills(
    scope: Scope, cache: SourceCache, names: Sequence[str], env: Mapping[str, str]
) -> Report:
    """Move each pin to what its ref names now; report old -> new commit and changed files."""
    report = Report()
    _known(scope, read_lock(scope.lock_path), names)
    _check_manifest(scope)
    # Skills added together share a source and ref: fetch each once per run.
    resolved: dict[tuple[str, str | None], str] = {}
    with staging.locked(scope):
        lock = read_lock(scope.lock_path)
        for name in _known(scope, lock, names):
            report.changes.append(_update_one(scope, cache, name, lock, resolved))
        write_lock(scope.lock_path, lock)
        link_and_report(scope, lock, env, agents=None, report=report, edit=True)
    return report


def _update_one(
    scope: Scope,
    cache: SourceCache,
    name: str,
    lock: dict[str, LockedSkill],
    resolved: dict[tuple[str, str | None], str],
) -> Change:
    entry = lock[name]
    if entry.ref is not None and FULL_SHA.fullmatch(entry.ref):
        return Change(name, "pinned", entry.commit, entry.commit)
    key = (entry.source, entry.ref)
    if key not in resolved:
        resolved[key] = cache.resolve(entry.source, entry.ref)
    commit = resolved[key]
    current = staging.installed_hash(scope, name)
    if commit == entry.commit and current == entry.hash:
        return Change(name, "unchanged", entry.commit, commit)
    staged = staging.fetch_and_stage(scope, cache, name=name, url=entry.source,
                                     commit=commit, path=entry.path)
    old_states: dict[str, FileState] = {}
    if current is not None:
        old_states = folder_states((scope.skills_dir / name).resolve())
    files = tuple(diff_states(old_states, folder_states(staged.folder)))
    staging.activate(scope, staged)
    lock[name] = entry._replace(commit=commit, hash=staged.digest)
    return Change(name, "updated", entry.commit, commit, files)


def _check_manifest(scope: Scope) -> None:
    """Raise before anything changes when a repo's `.skills` could not be edited."""
    from ai_skills.deploy.manifest_edit import check_editable
    from ai_skills.deploy.use_skills import MANIFEST

    if scope.repo is not None:
        check_editable(scope.repo / MANIFEST)


def _known(scope: Scope, lock: Mapping[str, LockedSkill], names: Sequence[str]) -> list[str]:
    unknown = [name for name in names if name not in lock]
    if unknown:
        raise SelectionError(
            f"{scope.lock_path}: {', '.join(repr(n) for n in unknown)} not installed "
            f"(installed: {', '.join(sorted(lock)) or 'none'})"
        )
    return list(dict.fromkeys(names)) if names else sorted(lock)


def remove_skills(scope: Scope, names: Sequence[str], env: Mapping[str, str]) -> Report:
    """Unpin, unlink and delete installed skills (only what ai-skills installed)."""
    from ai_skills.deploy.manifest_edit import remove_name
    from ai_skills.deploy.use_skills import MANIFEST

    report = Report()
    manifest = scope.repo / MANIFEST if scope.repo is not None else None
    _known(scope, read_lock(scope.lock_path), names)
    _check_manifest(scope)
    with staging.locked(scope):
        lock = read_lock(scope.lock_path)
        for name in _known(scope, lock, names):
            staging.deactivate(scope, name)
            del lock[name]
            if manifest is not None:
                remove_name(manifest, name)
            report.changes.append(Change(name, "removed"))
        write_lock(scope.lock_path, lock)
        link_and_report(scope, lock, env, agents=None, report=report)
    return report


def link_and_report(
    scope: Scope,
    lock: Mapping[str, LockedSkill],
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
    report: Report,
    edit: bool = False,
) -> None:
    """Link the scope's skills; with `edit` (only under the lock) first list the names, and
    `agents`, in a repo's `.skills`."""
    report.repo = scope.repo
    if edit:
        edited = edit_manifest(scope, list(lock), env, agents)
        report.errors.extend(edited.errors)
        report.warnings.extend(edited.warnings)
    linked = link_scope(scope, lock, env, agents=agents)
    report.linked.extend(linked.steps)
    report.errors.extend(linked.errors)
    report.warnings.extend(linked.warnings)
