"""`ai-skills add / install / update / remove / check / import-npx`: wiring only."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ai_skills.cli.render import emit_json, note, say

if TYPE_CHECKING:
    from ai_skills.install import Scope
    from ai_skills.installed import AddPlan, Report
    from ai_skills.sources import SourceCache

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
GlobalOption = Annotated[
    bool,
    typer.Option("--global", "-g", help="User-wide scope ($XDG_DATA_HOME/ai-skills/skills) "
                 "instead of the current repository."),
]
# Slow fetches get a progress line; fast ones (and cache hits) print nothing.
PROGRESS_DELAY_SECONDS = 0.5


@contextlib.contextmanager
def _delayed_progress(message: str) -> Iterator[None]:
    timer = threading.Timer(PROGRESS_DELAY_SECONDS, note, args=(f"ai-skills: {message} ...",))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _cache() -> SourceCache:
    from ai_skills.sources import SourceCache, cache_root

    return SourceCache(cache_root(os.environ), progress=_delayed_progress)


def _scope(global_: bool) -> Scope:
    from ai_skills.errors import UsageError
    from ai_skills.git import find_worktree_root
    from ai_skills.install import repo_scope, user_scope

    if global_:
        return user_scope(os.environ)
    root = find_worktree_root(Path.cwd())
    if root is None:
        raise UsageError(
            f"{Path.cwd()}: not inside a git repository; run this in a repo, or pass --global "
            "to install for your user"
        )
    return repo_scope(root)


def _render(report: Report, *, as_json: bool) -> int:
    if as_json:
        emit_json({
            "changes": [
                {"name": c.name, "action": c.action, "old_commit": c.old_commit,
                 "new_commit": c.new_commit,
                 "files": [{"change": k, "path": p} for k, p in c.files]}
                for c in report.changes
            ],
            "linked": report.linked, "errors": report.errors, "warnings": report.warnings,
        })
    else:
        for change in report.changes:
            _show_change(change)
        for line in report.linked:
            note(f"ai-skills: {line}")
        for line in report.warnings:
            note(f"ai-skills: warning: {line}")
        for line in report.errors:
            note(f"ai-skills: error: {line}")
    return 1 if report.errors else 0


def _show_change(change: Any) -> None:
    if change.action == "unchanged":
        return
    if change.action == "updated" and change.old_commit:
        note(f"ai-skills: updated {change.name}: {change.old_commit[:12]} -> "
             f"{change.new_commit[:12]}")
        for kind, path in change.files:
            note(f"    {kind:8} {path}")
        return
    at = f" @ {change.new_commit[:12]}" if change.new_commit else ""
    note(f"ai-skills: {change.action} {change.name}{at}")


def _show_plan(plan: AddPlan) -> None:
    ref = f" ({plan.ref})" if plan.ref else ""
    note(f"ai-skills: {plan.spec.url}{ref} @ {plan.commit[:12]}: {len(plan.found)} skill(s)")
    chosen = {s.name for s in plan.selected}
    for skill in plan.found:
        mark = "+" if skill.name in chosen else " "
        note(f"  {mark} {skill.name}  ({skill.path or '.'})  {skill.description[:70]}")
    for line in plan.warnings:
        note(f"ai-skills: warning: {line}")


def add(
    source: Annotated[
        str | None,
        typer.Argument(help="git URL (https, ssh, file://), owner/repo (GitHub), or a local "
                       "folder in a git repo. Without it: install what the lock file pins.",
                       show_default=False),
    ] = None,
    skill: Annotated[
        list[str] | None,
        typer.Option("--skill", "-s", help="Skill to install (repeat). Needed when the "
                     "source holds more than one, unless --all."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Install every skill in the source.")] = False,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Branch, tag or commit (default: remote HEAD).")
    ] = None,
    agents: Annotated[
        str | None,
        typer.Option("--agents", help="Comma-separated: claude,opencode,codex,agents. Repo: "
                     "the agents synced now (default: use-skills' defaults). --global: the "
                     "agents it is linked for (default: claude,opencode,codex)."),
    ] = None,
    global_: GlobalOption = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before installing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Install skills from a git repository, pinned to a commit in the lock file.

    In a repo the skill goes to .ai-skills/skills/NAME, its name is appended to .skills
    and use-skills links it; the pin goes to ai-skills.lock.json (commit that file).
    With --global it goes to $XDG_DATA_HOME/ai-skills/skills and is linked into the
    agents' user folders; the pin goes to $XDG_CONFIG_HOME/ai-skills/lock.json.
    """
    from ai_skills.agents import parse_agent_list
    from ai_skills.installed import apply_add, plan_add
    from ai_skills.sources import parse_source

    if source is None:
        install(global_=global_, as_json=as_json)
        return
    scope = _scope(global_)
    cache = _cache()
    spec = parse_source(source, cwd=Path.cwd())
    plan = plan_add(cache, spec, skills=skill or [], all_skills=all_, ref=ref)
    if not as_json:
        _show_plan(plan)
    if not yes and sys.stdin.isatty() and not typer.confirm("Install?", default=True):
        raise typer.Exit(1)
    chosen = parse_agent_list(agents) if agents else None
    report = apply_add(scope, cache, plan, os.environ, agents=chosen, cwd=Path.cwd())
    raise typer.Exit(_render(report, as_json=as_json))


def install(global_: GlobalOption = False, as_json: JsonOption = False) -> None:
    """Install exactly what the lock file pins (verified by content hash), then link.

    Use it after cloning a repo with an ai-skills.lock.json. Quiet when all is in place.
    """
    from ai_skills.installed import install_locked

    report = install_locked(_scope(global_), _cache(), os.environ, cwd=Path.cwd())
    raise typer.Exit(_render(report, as_json=as_json))


def update(
    names: Annotated[
        list[str] | None, typer.Argument(help="Skills to update (default: all).",
                                         show_default=False)
    ] = None,
    global_: GlobalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Move pins to what their branch or tag names now; show old -> new and changed files."""
    from ai_skills.installed import update_skills

    report = update_skills(_scope(global_), _cache(), names or [], os.environ, cwd=Path.cwd())
    if not as_json and not any(c.action == "updated" for c in report.changes):
        note("ai-skills: everything is up to date")
    raise typer.Exit(_render(report, as_json=as_json))


def remove(
    names: Annotated[list[str], typer.Argument(help="Installed skills to remove.",
                                               show_default=False)],
    global_: GlobalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Unlink, delete and unpin installed skills (only what ai-skills installed)."""
    from ai_skills.installed import remove_skills

    report = remove_skills(_scope(global_), names, os.environ, cwd=Path.cwd())
    raise typer.Exit(_render(report, as_json=as_json))


def check(
    global_: GlobalOption = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only compare folders with their hashes.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Exit 1 when an installed folder no longer matches its hash or its upstream moved."""
    from ai_skills.installed import check_skills

    results = check_skills(_scope(global_), cwd=Path.cwd(), upstream=not offline)
    if as_json:
        emit_json([{"name": r.name, "local": r.local, "upstream": r.upstream,
                    "commit": r.commit, "remote": r.remote, "ok": r.ok} for r in results])
    else:
        for r in results:
            moved = f" ({r.commit[:12]} -> {r.remote[:12]})" if r.upstream == "moved" and \
                r.remote else ""
            say(f"{r.name}: {r.local}, upstream {r.upstream}{moved}")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def import_npx(
    global_: GlobalOption = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Pin the skills `npx skills` installed (skills-lock.json, or its global lock with -g).

    Each one is fetched from its recorded source and installed into our folder and lock.
    npx's own copies stay where they are: remove them with `npx skills remove NAME`, then
    run `ai-skills install` to link the pinned copies.
    """
    from ai_skills.installed import Report, apply_add, plan_add
    from ai_skills.npx_interop import import_spec, npx_skills

    scope = _scope(global_)
    wanted = "global" if global_ else "project"
    skills = [s for s in npx_skills(scope.repo, os.environ) if s.scope == wanted]
    if not skills:
        note(f"ai-skills: no {wanted} skills recorded by npx skills")
        raise typer.Exit(0)
    cache = _cache()
    total = Report()
    for npx_skill in skills:
        plan = plan_add(cache, import_spec(npx_skill), skills=[npx_skill.name],
                        all_skills=False, ref=npx_skill.ref)
        if not as_json:
            _show_plan(plan)
        if not yes and sys.stdin.isatty() and not typer.confirm("Pin it?", default=True):
            continue
        report = apply_add(scope, cache, plan, os.environ, agents=None, cwd=Path.cwd(),
                           link=False)
        total.changes.extend(report.changes)
        total.warnings.extend(report.warnings)
    code = _render(total, as_json=as_json)
    if not as_json:
        note("ai-skills: next: `npx skills remove NAME` for each, then `ai-skills install`")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add these commands to the `ai-skills` app."""
    app.command()(add)
    app.command()(install)
    app.command()(update)
    app.command()(remove)
    app.command()(check)
    app.command("import-npx")(import_npx)
