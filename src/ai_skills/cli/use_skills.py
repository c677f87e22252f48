"""`use-skills`: link the skills named in `.skills` for the agents a repo chooses.

Unlike the other command groups this one uses argparse, not typer: it runs on every direnv
reload and typer's import alone costs more than the whole no-op sync.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~5 ms on every reload
if TYPE_CHECKING:
    import argparse

    from ai_skills.deploy.use_skills import SyncReport

DESCRIPTION = """\
Link the skills named in REPO/.skills into each agent's per-repo skills folder. Default:
  claude    REPO/.claude/skills/NAME
  opencode  REPO/.opencode/skills/NAME
  codex     $CODEX_HOME/skills/NAME  (only when CODEX_HOME is set)
Other agents (`ai-skills agents` lists them all, e.g. cursor, gemini-cli): the first of
--agents, AI_SKILLS_AGENTS, or an `agents: claude, cursor` line in .skills chooses.
Agents sharing a folder (.agents/skills) share one link.

.skills holds one skill name per line; '#' starts a comment. Skills are looked up in
AI_SKILLS_PATH (colon-separated folders), then skills installed with `ai-skills add`,
then the skills bundled with ai-skills. Only links use-skills made are ever changed or
removed; a real folder or someone else's link at a target is left alone and reported.
Prints nothing when nothing changed. Usually run by direnv: put `use skills` in .envrc."""

EPILOG = """\
exit status: 0 in sync (or synced); 1 a problem (everything safe was still applied, or
with --check: something would change); 2 bad command line.
examples:
  use-skills                 sync the repo you are in
  use-skills --dry-run       show what would change
  use-skills --check         exit 1 if anything would change (for CI)"""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of use-skills."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="use-skills",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repo", type=Path, help="repo to sync (default: git top level of .)")
    parser.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if anything would change"
    )
    parser.add_argument(
        "--agents",
        metavar="LIST",
        help="agents to sync this once (names or aliases, comma-separated); others keep "
        "their links",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="also list unchanged links")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument("--version", action="version", version=_version())
    return parser


# What the parser gives for no arguments (a test keeps the two equal).
DEFAULT_ARGS = SimpleNamespace(
    repo=None, dry_run=False, check=False, agents=None, verbose=False, json=False
)


def _version() -> str:
    from ai_skills import __version__

    return f"use-skills (ai-skills) {__version__}"


def main(argv: list[str] | None = None) -> int:
    """Run use-skills; returns the exit code."""
    from pathlib import Path

    from ai_skills.deploy import use_skills
    from ai_skills.deploy.agents import parse_agent_list
    from ai_skills.deploy.fastpath import repo_for

    argv = sys.argv[1:] if argv is None else argv
    # A bare `use-skills` (what direnv runs) needs no parser; argparse costs ~3 ms to import.
    args = build_parser().parse_args(argv) if argv else DEFAULT_ARGS
    env = dict(os.environ)
    start = (args.repo or Path.cwd()).expanduser()
    if not start.is_dir():
        print(f"use-skills: error: {start} is not a folder", file=sys.stderr)
        return 2
    repo = Path(repo_for(str(start)))
    agents = parse_agent_list(args.agents) if args.agents else None
    report = use_skills.sync_repo(repo, env, agents=agents, dry_run=args.dry_run or args.check)
    _render(report, verbose=args.verbose, as_json=args.json, planned=args.dry_run or args.check)
    if report.errors:
        return 1
    return 1 if args.check and report.would_change else 0


def _render(report: SyncReport, *, verbose: bool, as_json: bool, planned: bool) -> None:
    from ai_skills.cli.use_skills_render import render_json, render_text

    if as_json:
        render_json(report, planned=planned)
    else:
        render_text(report, verbose=verbose, planned=planned)


def command(argv: list[str] | None = None) -> int:
    """`use-skills ARGV` as its console script runs it; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        # The direnv case: prove a no-op with os and json alone before importing the rest.
        from ai_skills.deploy.fastpath import quick_noop

        if quick_noop(os.getcwd(), os.environ):
            return 0
    import gc

    from ai_skills.errors import AiSkillsError

    gc.disable()  # one short run: the collector would only walk what the imports made
    try:
        return main(args)
    except AiSkillsError as error:
        print(f"use-skills: error: {error}", file=sys.stderr)
        return error.exit_code
    finally:
        gc.enable()


def run() -> None:
    """Console-script entry point."""
    from ai_skills.cli.quick_exit import exit_now

    exit_now(command())


if __name__ == "__main__":
    run()
