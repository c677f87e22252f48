"""`ai-skills add`: fetch a source, pick its skills, then install, pin, list and link them.

Everything that can be judged without changing anything (the source's files, the names
already pinned, the agents asked for, what is in the way of a link) is judged first, so a
refused add leaves no trace; then, under the scope's lock, the rest is judged again and
done the way `installed.py` does for install, update and remove.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from ai_skills.deploy.agents import table
from ai_skills.install import staging
from ai_skills.install.discover import FoundSkill, discover
from ai_skills.install.installed import Change, Report, SelectionError, link_and_report
from ai_skills.install.links import preflight
from ai_skills.install.local_changes import uncommitted_warning
from ai_skills.install.lock import LockedSkill, read_lock, write_lock
from ai_skills.install.materialize import MAX_FILE_BYTES
from ai_skills.install.scope import Scope
from ai_skills.install.source_spec import SourceSpec, normalise_url
from ai_skills.install.sources import SourceCache
from ai_skills.install.staging import InstallError


class AddPlan(NamedTuple):
    """A fetched source, the skills it holds, and the ones chosen for install."""

    spec: SourceSpec
    ref: str | None
    commit: str
    found: list[FoundSkill]
    selected: list[FoundSkill]
    warnings: list[str]




def plan_add(
    cache: SourceCache,
    spec: SourceSpec,
    *,
    skills: Sequence[str],
    all_skills: bool,
    ref: str | None,
    commit: str | None = None,
) -> AddPlan:
    """Fetch the source (unless the caller did: `commit`), discover its skills and pick the
    ones asked for."""
    commit = commit or cache.resolve(spec.url, ref)
    entries = cache.tree(spec.url, commit)

    def read(oids: list[str]) -> dict[str, bytes]:
        # An oversized SKILL.md is not read for the listing; installing it is refused later.
        sizes = cache.blob_sizes(spec.url, commit, oids)
        small = [oid for oid in oids if sizes[oid] <= MAX_FILE_BYTES]
        return {oid: b"" for oid in oids} | cache.read_blobs(spec.url, small)

    found, warnings = discover(entries, spec.subpath, read)
    where = f"{spec.url}{'/' + spec.subpath if spec.subpath else ''} @ {commit[:12]}"
    if not found:
        raise SelectionError(f"{where}: no SKILL.md found (looked in the whole tree)")
    by_name = {skill.name: skill for skill in found}
    if all_skills:
        selected = [skill for skill in found if skill.problem is None]
        reasons = [f"'{s.name}' ({s.path or '.'}/{s.problem})"
                   for s in found if s.problem is not None]
        if not selected:  # the plan (and its warnings) is never shown: say why here
            raise SelectionError(f"{where}: no valid skill to install: {'; '.join(reasons)}")
        warnings += [f"{where}: skipping {reason}" for reason in reasons]
    elif skills:
        missing = [name for name in skills if name not in by_name]
        if missing:
            raise SelectionError(
                f"{where}: no skill named {', '.join(repr(m) for m in missing)} "
                f"(available: {', '.join(sorted(by_name))})"
            )
        selected = [by_name[name] for name in dict.fromkeys(skills)]
    elif len(found) == 1:
        selected = found
    else:
        raise SelectionError(
            f"{where}: holds {len(found)} skills ({', '.join(sorted(by_name))}); "
            "pass --skill NAME (repeatable) or --all"
        )
    for skill in selected:
        warning = uncommitted_warning(spec.url, skill.path, name=skill.name, commit=commit,
                                      entries=entries)
        if warning is not None:
            warnings.append(warning)
    return AddPlan(spec, ref, commit, found, selected, warnings)


def apply_add(
    scope: Scope,
    cache: SourceCache,
    plan: AddPlan,
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None,
    link: bool = True,
    force: bool = False,
) -> Report:
    """Install the planned skills, pin them, and (unless `link` is off) list and link them.

    A name already pinned from another source (or folder) is refused unless `force`.
    """
    report = Report()  # the plan's own warnings are the caller's to show (with the plan)
    checked = [
        staging.check_skill(cache, name=s.name, url=plan.spec.url, commit=plan.commit,
                            path=s.path)
        for s in plan.selected
    ]

    def refuse_now(lock: Mapping[str, LockedSkill]) -> None:
        _refuse_replacing(scope, lock, plan, force=force)
        for skill in plan.selected:
            staging.refuse_foreign(scope, skill.name)
        if link:
            preflight(scope, [s.name for s in plan.selected], env, agents=agents)

    refuse_now(read_lock(scope.lock_path))
    with staging.locked(scope):
        lock = read_lock(scope.lock_path)
        refuse_now(lock)  # again: another run may have changed the scope while we waited
        staged = [staging.stage_skill(scope, item) for item in checked]
        user_agents = list(agents or table().defaults) if scope.kind == "user" else None
        for item, skill in zip(staged, plan.selected, strict=True):
            old = lock.get(item.name)
            action = "installed" if old is None else "updated"
            if old is not None and old.hash == item.digest and staging.installed_hash(
                scope, item.name
            ) == item.digest:
                action = "unchanged"
            staging.activate(scope, item)
            lock[item.name] = LockedSkill(
                source=plan.spec.url, ref=plan.ref, commit=plan.commit, path=skill.path,
                hash=item.digest, agents=_merge_agents(old, user_agents),
            )
            report.changes.append(
                Change(item.name, action, old.commit if old else None, plan.commit)
            )
        write_lock(scope.lock_path, lock)
        if link:
            link_and_report(scope, lock, env, agents=agents, report=report, edit=True)
    return report


def _refuse_replacing(
    scope: Scope, lock: Mapping[str, LockedSkill], plan: AddPlan, *, force: bool
) -> None:
    """Raise when a planned name is pinned from another source or folder (unless forced)."""
    for skill in plan.selected:
        old = lock.get(skill.name)
        if old is None or force:
            continue
        if (normalise_url(old.source), old.path) != (normalise_url(plan.spec.url), skill.path):
            raise InstallError(
                f"{scope.lock_path}: '{skill.name}' is pinned from {old.source} "
                f"({old.path or '.'}); this add would replace it with {plan.spec.url} "
                f"({skill.path or '.'}); pass --force to replace it"
            )


def _merge_agents(
    old: LockedSkill | None, agents: list[str] | None
) -> tuple[str, ...] | None:
    if agents is None:
        return None
    before = old.agents if old is not None and old.agents else ()
    return tuple(dict.fromkeys([*before, *agents]))
