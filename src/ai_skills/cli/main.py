"""`ai-skills`: validate, list and deploy skills."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ai_skills import __version__
from ai_skills.cli import add as _add_commands
from ai_skills.cli import agents as _agents_command
from ai_skills.cli.release import app as release_app
from ai_skills.cli.render import note, render, run_guarded, say

if TYPE_CHECKING:
    from ai_skills.deploy.global_deploy import GlobalDeployReport

app = typer.Typer(
    name="ai-skills",
    help=(
        "Ship, validate and deploy agent skills for Claude Code, OpenCode, Codex and every "
        "other agent `ai-skills agents` lists.\n\n"
        "Per-repo deploys are done by `use-skills` (run by direnv); this command validates "
        "skills, lists the catalog, installs skills from git repositories (pinned in a lock "
        "file) and deploys user-wide."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


@app.command()
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Skill folders, or folders of skill folders.", show_default=False),
    ],
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Treat agent extension fields (e.g. Claude Code's `model`) as errors, "
            "as the Agent Skills reference validator does.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check SKILL.md files against the Agent Skills spec.

    Every problem is reported as FILE:LINE. Exit 1 when any skill has an error, 0 when
    there are only warnings (e.g. Claude Code extension fields).
    """
    from ai_skills.skills.validation import find_skill_folders, validate_skill

    reports = [
        validate_skill(folder, strict=strict)
        for path in paths
        for folder in find_skill_folders(path)
    ]
    bad = sum(not r.ok for r in reports)
    render(
        [{"folder": str(r.folder), "name": r.name, "ok": r.ok,
          "problems": [p.as_dict() for p in r.problems]} for r in reports],
        as_json=as_json,
        lines=lambda: [f"{p.location()}: {p.severity}: {p.message}"
                       for r in reports for p in r.problems],
        notes=lambda: [f"{len(reports)} skill(s) checked, {bad} with errors"],
    )
    raise typer.Exit(1 if bad else 0)


@app.command("list")
def list_skills(as_json: JsonOption = False) -> None:
    """List the skills the catalog offers, first match first.

    Search order: AI_SKILLS_PATH, skills installed with `ai-skills add` (repo, then user),
    then the skills bundled with ai-skills. A name found again later is shadowed.
    Installed skills show their source and pinned commit; skills that `npx skills`
    installed (its skills-lock.json and global lock) are listed after the catalog.
    """
    from ai_skills.cli.list_render import installed_pins, npx_rows
    from ai_skills.deploy.fastpath import find_repo_root
    from ai_skills.skills.catalog import list_catalog, search_path
    from ai_skills.skills.validation import validate_skill

    root = find_repo_root(os.getcwd())
    repo = Path(root) if root else None
    entries = list_catalog(search_path(os.environ, repo=repo))
    pins = installed_pins(repo, os.environ)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        report = validate_skill(entry.path)
        rows.append(
            {
                "name": entry.name,
                "description": report.description or "",
                "path": str(entry.path),
                "origin": entry.origin,
                "valid": report.ok,
                "shadows": [str(d.path / entry.name) for d in entry.shadows],
                "pin": pins.get((entry.origin, entry.name)),
            }
        )
    rows.extend(npx_rows(repo, os.environ))
    render(rows, as_json=as_json, lines=lambda: _catalog_lines(rows))


def _catalog_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        flag = "" if row["valid"] else "  [invalid: run `ai-skills validate`]"
        yield f"{row['name']}  ({row['origin']}){flag}"
        if row["description"]:
            yield f"    {row['description'][:100]}"
        yield f"    {row['path']}"
        if row["pin"]:
            pin = row["pin"]
            ref = f" ({pin['ref']})" if pin.get("ref") else ""
            yield f"    from {pin['source']}{ref} @ {pin['commit'][:12]}"
        for shadowed in row["shadows"]:
            yield f"    shadows {shadowed}"


@app.command()
def deploy(
    global_: Annotated[
        bool, typer.Option("--global", help="Deploy into the user-wide skills folders.")
    ] = False,
    skill: Annotated[
        list[str] | None,
        typer.Option("--skill", help="Skill to deploy (repeat). Default: names listed in "
                     "~/.config/ai-skills/skills."),
    ] = None,
    agents: Annotated[
        str | None,
        typer.Option("--agents", help="Comma-separated agent names or aliases (`ai-skills "
                     "agents` lists them). Default: the `agents:` line of "
                     "~/.config/ai-skills/skills, else claude,opencode,codex."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if anything would change.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Link skills into each agent's user folder (~/.claude/skills, ~/.gemini/skills, ...).

    For people without home-manager: same selection rules and targets as the
    `services.ai-skills` module. Agents sharing a folder get one link there. Only links
    this command made are replaced or removed. For one repo, use `use-skills` instead.
    """
    from ai_skills.cli.deploy_render import render_global
    from ai_skills.deploy.agents import parse_agent_list
    from ai_skills.deploy.global_deploy import deploy_global

    if not global_:
        raise typer.BadParameter("per-repo deploys are done by `use-skills`; pass --global")
    report = deploy_global(
        os.environ,
        agents=parse_agent_list(agents) if agents is not None else None,
        skills=skill or [],
        dry_run=dry_run or check,
    )
    render_global(report, planned=dry_run or check, as_json=as_json)
    failed = bool(report.errors or report.refused)
    raise typer.Exit(1 if failed or (check and _changes(report)) else 0)


def _changes(report: GlobalDeployReport) -> bool:
    from ai_skills.deploy.engine import needs_apply

    return needs_apply(report.steps)


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Skill name: lowercase letters, digits, hyphens.")],
    template: Annotated[
        str, typer.Option("--template", help="basic, or with-scripts (adds scripts/ and "
                          "references/).")
    ] = "basic",
    description: Annotated[
        str, typer.Option("--description", help="What the skill does and when to use it.")
    ] = "Describe what this skill does and when an agent should use it.",
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder to create the skill in.")
    ] = Path("."),
) -> None:
    """Create a new, spec-valid skill folder NAME from a template. Never overwrites."""
    from ai_skills.skills.scaffold import new_skill

    target, report = new_skill(directory, name, template=template, description=description)
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        note(f"ai-skills: created {path}")
    for problem in report.problems:
        note(f"{problem.location()}: {problem.severity}: {problem.message}")
    raise typer.Exit(0 if report.ok else 1)


direnv_app = typer.Typer(
    help="Set up `use skills` for direnv (not needed with home-manager's direnv option).",
    no_args_is_help=True,
)
app.add_typer(direnv_app, name="direnv")


@direnv_app.command("install")
def direnv_install(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be written.")] = False,
) -> None:
    """Write ~/.config/direnv/lib/ai-skills.sh so `.envrc` files can say `use skills`.

    Safe to run again: it refreshes its own file and refuses to overwrite anyone else's.
    """
    from ai_skills.deploy.direnv import install_library

    path, changed = install_library(os.environ, dry_run=dry_run)
    if changed:
        note(f"ai-skills: {'would write' if dry_run else 'wrote'} {path}")
    else:
        note(f"ai-skills: {path} is up to date")
    note("Next: add `use skills` to a project's .envrc, list skill names in .skills, "
         "then `direnv allow`.")


app.add_typer(release_app, name="release")


@app.command()
def version() -> None:
    """Print the version."""
    say(f"ai-skills {__version__}")


_add_commands.register(app)
_agents_command.register(app)


def main(args: list[str] | None = None) -> int:
    """Run the typer app on `args` (default: `sys.argv[1:]`) and return the exit code;
    cli/entry.py calls this for every command line its fast path leaves to typer."""
    result = run_guarded("ai-skills", lambda: _run_app(args))
    return result if isinstance(result, int) else 0


def _run_app(args: list[str] | None) -> Any:
    # standalone_mode=False lets AiSkillsError reach run_guarded, but then typer leaves
    # usage errors (unknown option, missing argument) to us: show them as click would.
    try:
        return app(args=args, prog_name="ai-skills", standalone_mode=False)
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        return getattr(exc, "exit_code", 2)
    except typer.Abort:
        note("Aborted!")
        return 1
