"""The `ai-skills` console script: `add` and `install` skip typer when their arguments are plain.

Those two commands race `npx skills` (benchmarks/add_bench.py), and importing typer costs
more than a whole no-op `install`. A command line this small parser fully understands runs
the same code (`cli.add_run`) directly; anything else (help, mistakes, other commands)
goes to the typer app, which owns the help text and error messages.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable


def _parser(command: str) -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False, allow_abbrev=False)
    if command == "add":
        parser.add_argument("source", nargs="?")
        parser.add_argument("--skill", "-s", action="append", default=[])
        parser.add_argument("--all", action="store_true", dest="all_skills")
        parser.add_argument("--ref")
        parser.add_argument("--yes", "-y", action="store_true")
    parser.add_argument("--agents")
    parser.add_argument("--global", "-g", action="store_true", dest="global_")
    parser.add_argument("--json", action="store_true", dest="as_json")
    return parser


def fast_command(argv: list[str]) -> Callable[[], int] | None:
    """A runner for a plain `add`/`install` command line, else None (use typer)."""
    if not argv or argv[0] not in ("add", "install") or {"-h", "--help"} & set(argv):
        return None
    import argparse

    try:
        args, extra = _parser(argv[0]).parse_known_args(argv[1:])
    except (argparse.ArgumentError, SystemExit):
        return None
    if extra:
        return None
    from ai_skills.cli import add_run

    if argv[0] == "install" or args.source is None:
        return lambda: add_run.do_install(global_=args.global_, as_json=args.as_json,
                                          agents=args.agents)
    return lambda: add_run.do_add(
        args.source, skills=args.skill, all_skills=args.all_skills, ref=args.ref,
        agents=args.agents, global_=args.global_, yes=args.yes, as_json=args.as_json,
    )


def run() -> None:
    """Console-script entry point."""
    command = fast_command(sys.argv[1:])
    if command is None:
        from ai_skills.cli.main import run as run_typer_app

        run_typer_app()
        return
    from ai_skills.cli.render import run_guarded

    result = run_guarded("ai-skills", command)
    raise SystemExit(result if isinstance(result, int) else 0)
