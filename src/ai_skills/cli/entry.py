"""The `ai-skills` console script: `add` and `install` skip typer when their arguments are plain.

Those two commands race `npx skills` (benchmarks/add_bench.py), and importing typer costs
more than a whole no-op `install` (argparse, with gettext, locale and shutil behind it,
costs a tenth of an `add`). A command line the small reader below fully understands runs
the same code (`cli.add_run`) directly; anything else (help, mistakes, unusual spellings,
other commands) goes to the typer app, which owns the help text and error messages.
tests/test_cli_fast_path.py checks that both read each line the same way.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# Option string -> (argument name, takes a value). The same spellings as cli/add.py.
_COMMON = {
    "--agents": ("agents", True),
    "--global": ("global_", False),
    "-g": ("global_", False),
    "--json": ("as_json", False),
}
OPTIONS = {
    "add": {
        **_COMMON,
        "--skill": ("skills", True),  # repeatable
        "-s": ("skills", True),
        "--all": ("all_skills", False),
        "--ref": ("ref", True),
        "--yes": ("yes", False),
        "-y": ("yes", False),
        "--force": ("force", False),
    },
    "install": _COMMON,
}
POSITIONALS = {"add": 1, "install": 0}  # add: SOURCE


def parse(command: str, args: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    """Options and positionals of a plain `add`/`install` line, or None to leave it to typer."""
    table = OPTIONS[command]
    found: dict[str, Any] = {"skills": []}
    positionals: list[str] = []
    rest = list(reversed(args))
    while rest:
        arg = rest.pop()
        if arg == "--":
            positionals += reversed(rest)
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if not _take(table, found, name, value if eq else None, rest):
                return None
        elif arg.startswith("-") and arg != "-":
            for index, letter in enumerate(arg[1:], start=2):  # -gy, -sNAME
                spec = table.get(f"-{letter}")
                if spec is None:
                    return None
                if spec[1]:  # the rest of the word is the value, else the next word
                    if arg[index:].startswith("="):
                        return None
                    if not _take(table, found, f"-{letter}", arg[index:] or None, rest):
                        return None
                    break
                found[spec[0]] = True
        else:
            positionals.append(arg)
    if len(positionals) > POSITIONALS[command]:
        return None
    return found, positionals


def _take(
    table: dict[str, tuple[str, bool]],
    found: dict[str, Any],
    name: str,
    value: str | None,
    rest: list[str],
) -> bool:
    """Record option `name` (with `value` when given as `--name=value`); False if not plain."""
    spec = table.get(name)
    if spec is None:
        return False
    dest, takes_value = spec
    if not takes_value:
        found[dest] = True
        return value is None
    if value is None:
        if not rest or rest[-1].startswith("-"):
            return False  # a missing value, or one typer may read otherwise: typer says
        value = rest.pop()
    if dest == "skills":
        found["skills"].append(value)
    else:
        found[dest] = value
    return True


def fast_command(argv: list[str]) -> Callable[[], int] | None:
    """A runner for a plain `add`/`install` command line, else None (use typer)."""
    if not argv or argv[0] not in OPTIONS or {"-h", "--help"} & set(argv):
        return None
    parsed = parse(argv[0], argv[1:])
    if parsed is None:
        return None
    found, positionals = parsed
    from ai_skills.cli import add_run

    agents, global_, as_json = (found.get("agents"), "global_" in found, "as_json" in found)
    if not positionals:
        return lambda: add_run.do_install(global_=global_, as_json=as_json, agents=agents)
    return lambda: add_run.do_add(
        positionals[0], skills=found["skills"], all_skills="all_skills" in found,
        ref=found.get("ref"), agents=agents, global_=global_, yes="yes" in found,
        force="force" in found, as_json=as_json,
    )


def main(argv: list[str] | None = None) -> int:
    """Run `ai-skills ARGV` and return its exit code: a plain add/install here, the rest in
    typer (cli/main.py)."""
    args = sys.argv[1:] if argv is None else argv
    command = fast_command(args)
    if command is None:
        from ai_skills.cli.main import main as run_typer_app

        return run_typer_app(args)
    import gc

    from ai_skills.cli.render import run_guarded

    # One short run: the cyclic collector would only walk the objects imports make (a few
    # ms of an `add`); what it could free is freed when the process ends.
    gc.disable()
    try:
        result = run_guarded("ai-skills", command)
    finally:
        gc.enable()
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    from ai_skills.cli.quick_exit import exit_now

    exit_now(main())
