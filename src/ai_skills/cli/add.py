"""`ai-skills add / install / update / remove / check / import-npx`: wiring only."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ai_skills.cli.add_run import (
    confirm,
    do_add,
    do_install,
    make_cache,
    render_report,
    scope_for,
    show_plan,
)
from ai_skills.cli.render import note, render

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
AgentsOption = Annotated[
    str | None,
    typer.Option("--agents", help="Comma-separated agent names or aliases (`ai-skills agents` "
                 "lists them). Repo: added to the `agents:` line of .skills (which starts "
                 "from the defaults), so every later sync keeps them. --global: added to the "
                 "agents each skill is linked for, in the user lock (`add`: the skills "
                 "added; `install`: every skill; default: claude,opencode,codex)."),
]
GlobalOption = Annotated[
    bool,
    typer.Option("--global", "-g", help="User-wide scope ($XDG_DATA_HOME/ai-skills/skills) "
                 "instead of the current repository."),
]


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
    agents: AgentsOption = None,
    global_: GlobalOption = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before installing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a skill of the same name that is pinned "
                           "from another source or folder.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Install skills from a git repository, pinned to a commit in the lock file.

    In a repo the skill goes to .ai-skills/skills/NAME, its name is appended to .skills
    and use-skills links it; the pin goes to ai-skills.lock.json (commit that file).
    With --global it goes to $XDG_DATA_HOME/ai-skills/skills and is linked into the
    agents' user folders; the pin goes to $XDG_CONFIG_HOME/ai-skills/lock.json.
    """
    if source is None:
        raise typer.Exit(do_install(global_=global_, as_json=as_json, agents=agents))
    raise typer.Exit(do_add(source, skills=skill or [], all_skills=all_, ref=ref, agents=agents,
                            global_=global_, yes=yes, force=force, as_json=as_json))


def install(
    global_: GlobalOption = False, agents: AgentsOption = None, as_json: JsonOption = False
) -> None:
    """Install exactly what the lock file pins (verified by content hash), then link.

    Use it after cloning a repo with an ai-skills.lock.json. Quiet when all is in place.
    Installs every skill it can, then reports each one it could not (exit 1).
    """
    raise typer.Exit(do_install(global_=global_, as_json=as_json, agents=agents))


def update(
    names: Annotated[
        list[str] | None, typer.Argument(help="Skills to update (default: all).",
                                         show_default=False)
    ] = None,
    global_: GlobalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Move pins to what their branch or tag names now; show old -> new and changed files."""
    from ai_skills.install.installed import update_skills

    scope = scope_for(global_)
    with make_cache() as cache:
        report = update_skills(scope, cache, names or [], os.environ)
    if not as_json and not any(c.action == "updated" for c in report.changes):
        note("ai-skills: everything is up to date")
    raise typer.Exit(render_report(report, as_json=as_json))


def remove(
    names: Annotated[list[str], typer.Argument(help="Installed skills to remove.",
                                               show_default=False)],
    global_: GlobalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Unlink, delete and unpin installed skills (only what ai-skills installed)."""
    from ai_skills.install.installed import remove_skills

    report = remove_skills(scope_for(global_), names, os.environ)
    raise typer.Exit(render_report(report, as_json=as_json))


def check(
    global_: GlobalOption = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only compare folders with their hashes.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Exit 1 when an installed folder no longer matches its hash (naming each changed file),
    agents cannot see a skill (not in .skills; with --global, a missing link), or its
    upstream moved."""
    from ai_skills.install.check import check_skills

    results = check_skills(scope_for(global_), os.environ, cwd=Path.cwd(),
                           upstream=not offline)
    flag = " --global" if global_ else ""
    missing = [f"ai-skills: `ai-skills install{flag}` lists and links what is missing"]
    render(
        [{"name": r.name, "local": r.local, "upstream": r.upstream, "commit": r.commit,
          "remote": r.remote, "ok": r.ok, "files": [{"change": c, "path": p} for c, p in r.files],
          "links": list(r.links)} for r in results],
        as_json=as_json,
        lines=lambda: _check_lines(results),
        notes=lambda: missing if any(r.links for r in results) else [],
    )
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def _check_lines(results: list[Any]) -> Iterator[str]:
    for r in results:
        moved = f" ({r.commit[:12]} -> {r.remote[:12]})" if r.upstream == "moved" and \
            r.remote else ""
        yield f"{r.name}: {r.local}, upstream {r.upstream}{moved}"
        for change, path in r.files:
            yield f"    {change:8} {path}"
        if r.local == "modified" and not r.files:
            yield ("    (installed before ai-skills kept a file list; `ai-skills install` "
                   "restores the pinned files)")
        for line in r.links:
            yield f"    {line}"


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
    from ai_skills.errors import AiSkillsError
    from ai_skills.install.add import apply_add, plan_add
    from ai_skills.install.installed import Report
    from ai_skills.install.npx_interop import NpxLockError, import_spec, scope_skills

    scope = scope_for(global_)
    # Only the scope's own npx lock: a broken global one must not stop a project import.
    skills = scope_skills(scope.repo, os.environ)
    if not skills:
        wanted = "global" if global_ else "project"
        note(f"ai-skills: no {wanted} skills recorded by npx skills")
        raise typer.Exit(0)
    total = Report()
    with make_cache() as cache:
        for npx_skill in skills:
            try:
                plan = plan_add(cache, import_spec(npx_skill), skills=[npx_skill.name],
                                all_skills=False, ref=npx_skill.ref)
            except NpxLockError as exc:  # e.g. a well-known source: report it, pin the rest
                total.warnings.append(str(exc))
                continue
            except AiSkillsError as exc:  # a source gone or unreachable: report, pin the rest
                total.errors.append(str(exc))
                continue
            if not as_json:
                show_plan(plan)
            if not yes and sys.stdin.isatty() and not confirm("Pin it?"):
                continue
            try:
                report = apply_add(scope, cache, plan, os.environ, agents=None, link=False)
            except AiSkillsError as exc:  # e.g. the name is pinned elsewhere: pin the rest
                total.errors.append(str(exc))
                continue
            total.changes.extend(report.changes)
            shown = [*plan.warnings, *report.warnings] if as_json else report.warnings
            total.warnings.extend(shown)
    code = render_report(total, as_json=as_json)
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
