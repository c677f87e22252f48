"""The bodies of `ai-skills add` and `install`, free of typer so a fast entry can call them.

`ai-skills add` and `ai-skills install` are timed against `npx skills` (see
benchmarks/add_bench.py); importing typer (and through it pydantic) costs more than the
whole no-op install, so `cli.entry` parses these two commands itself when it can.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ai_skills.cli.render import note, progress_after, render

if TYPE_CHECKING:
    from ai_skills.install.add import AddPlan
    from ai_skills.install.installed import Change, Report
    from ai_skills.install.scope import Scope
    from ai_skills.install.sources import SourceCache

# Slow fetches get a progress line; fast ones (and cache hits) print nothing.
delayed_progress = progress_after("ai-skills", 0.5)


def make_cache() -> SourceCache:
    from ai_skills.install.sources import SourceCache, cache_root

    return SourceCache(cache_root(os.environ), progress=delayed_progress)


def scope_for(global_: bool) -> Scope:
    from ai_skills.errors import UsageError
    from ai_skills.install.scope import repo_scope, user_scope
    from ai_skills.util.git import find_worktree_root

    if global_:
        return user_scope(os.environ)
    root = find_worktree_root(Path.cwd())
    if root is None:
        raise UsageError(
            f"{Path.cwd()}: not inside a git repository; run this in a repo, or pass --global "
            "to install for your user"
        )
    return repo_scope(root)


def render_report(report: Report, *, as_json: bool) -> int:
    render(report, as_json=as_json, notes=lambda: _report_notes(report))
    return 1 if report.errors else 0


def _report_notes(report: Report) -> Iterator[str]:
    from ai_skills.cli.steps import step_line

    for change in report.changes:
        yield from _change_notes(change)
    for step in report.linked:
        yield step_line("ai-skills", step, planned=False, base=report.repo)
    for line in report.warnings:
        yield f"ai-skills: warning: {line}"
    for line in report.errors:
        yield f"ai-skills: error: {line}"


def _change_notes(change: Change) -> Iterator[str]:
    if change.action == "unchanged":
        return
    if change.action == "updated" and change.old_commit and change.new_commit:
        yield (f"ai-skills: updated {change.name}: {change.old_commit[:12]} -> "
               f"{change.new_commit[:12]}")
        for kind, path in change.files:
            yield f"    {kind:8} {path}"
        return
    at = f" @ {change.new_commit[:12]}" if change.new_commit else ""
    yield f"ai-skills: {change.action} {change.name}{at}"


def load_install_side(scope: Scope) -> None:
    """Import what `add` runs after its fetch: the install side and the linking (modules it
    would otherwise load one by one later, on the way)."""
    user = ("ai_skills.deploy.global_deploy",) if scope.kind == "user" else ()
    for module in ("ai_skills.install.add", "ai_skills.deploy.use_skills",
                   "ai_skills.deploy.manifest_edit", "ai_skills.skills.verified_cache",
                   "ai_skills.cli.steps", *user):
        __import__(module)


def show_plan(plan: AddPlan) -> None:
    ref = f" ({plan.ref})" if plan.ref else ""
    note(f"ai-skills: {plan.spec.url}{ref} @ {plan.commit[:12]}: {len(plan.found)} skill(s)")
    chosen = {s.name for s in plan.selected}
    for skill in plan.found:
        mark = "+" if skill.name in chosen else " "
        flag = f"  [invalid: {skill.problem}]" if skill.problem else ""
        note(f"  {mark} {skill.name}  ({skill.path or '.'})  {skill.description[:70]}{flag}")
    for line in plan.warnings:
        note(f"ai-skills: warning: {line}")


def confirm(question: str) -> bool:
    """Ask on a terminal; anything but an explicit 'n' means yes."""
    sys.stderr.write(f"{question} [Y/n]: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer not in ("n", "no")


def do_add(
    source: str,
    *,
    skills: Sequence[str],
    all_skills: bool,
    ref: str | None,
    agents: str | None,
    global_: bool,
    yes: bool,
    as_json: bool,
    force: bool = False,
) -> int:
    """`ai-skills add SOURCE ...`; returns the exit code."""
    from ai_skills.deploy.agents import parse_agent_list
    from ai_skills.errors import UsageError
    from ai_skills.install.git_values import ref_problem, shown
    from ai_skills.install.source_spec import parse_source

    problem = ref_problem(ref) if ref is not None else None
    if problem is not None:
        raise UsageError(f"--ref: {shown(ref or '')} is not a git ref ({problem})")
    scope = scope_for(global_)
    chosen = parse_agent_list(agents) if agents else None
    with make_cache() as cache:
        spec = parse_source(source, cwd=Path.cwd())
        # The install side loads while git asks the server: a fetch takes about as long.
        commit = cache.resolve(spec.url, ref, meanwhile=lambda: load_install_side(scope))
        from ai_skills.install.add import apply_add, plan_add

        plan = plan_add(cache, spec, skills=skills, all_skills=all_skills, ref=ref,
                        commit=commit)
        if not as_json:
            show_plan(plan)
        if not yes and sys.stdin.isatty() and not confirm("Install?"):
            return 1
        report = apply_add(scope, cache, plan, os.environ, agents=chosen, force=force)
    if as_json:  # in text they were shown with the plan
        report.warnings[:0] = plan.warnings
    return render_report(report, as_json=as_json)


def do_install(*, global_: bool, as_json: bool, agents: str | None = None) -> int:
    """`ai-skills install`; returns the exit code."""
    from ai_skills.deploy.agents import parse_agent_list
    from ai_skills.install.installed import install_locked

    chosen = parse_agent_list(agents) if agents else None
    scope = scope_for(global_)
    with make_cache() as cache:
        report = install_locked(scope, cache, os.environ, agents=chosen)
    return render_report(report, as_json=as_json)
