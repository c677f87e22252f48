"""The `worker` console script: `report` and `status` skip typer when their arguments are plain.

An agent runs `worker report` after every step and a supervisor polls `worker status
--json`; importing typer (and through it pydantic) costs ten Python start-ups, more than
either command's work (benchmarks/worker_bench.py). A command line this small parser fully
understands runs the same bodies (`cli.worker_run`) after the same checks; anything else
(help, mistakes, other commands, an option value that looks like an option) goes to the
typer app in `cli.worker`, which owns the help text and the usage errors.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # `typing` costs milliseconds on every report
if TYPE_CHECKING:
    from collections.abc import Callable

    # The options given (keyword -> value, or True for a flag) and the positional arguments.
    PlainArguments = tuple[dict[str, str | bool], list[str]]

# Per command: options taking a value (name -> keyword), flags (name -> keyword), and how
# many positional arguments it takes. Mirrors the typer signatures in cli/worker.py; a test
# compares the two on a table of command lines.
FAST_COMMANDS: dict[str, tuple[dict[str, str], dict[str, str], int]] = {
    "report": (
        {"--status": "status", "--message": "message", "-m": "message", "--task": "task",
         "--attempt": "attempt", "--idempotency-key": "key"},
        {"--json": "as_json"},
        0,
    ),
    "status": ({}, {"--no-git": "no_git", "--all": "all_tasks", "--json": "as_json"}, 1),
}


def plain_arguments(command: str, args: list[str]) -> PlainArguments | None:
    """The options and positionals of a plain command line, else None (let typer judge it).

    Plain: known options, each value in the next word or after `=`, none starting with `-`.
    """
    options, flags, most = FAST_COMMANDS[command]
    found: dict[str, str | bool] = {}
    positionals: list[str] = []
    words = iter(args)
    for word in words:
        name, equals, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in flags and not equals:
            found[flags[name]] = True
        elif name in options:
            given = value if equals else next(words, None)
            if given is None or given.startswith("-"):
                return None
            found[options[name]] = given  # repeated: the last one wins, as in typer
        elif word.startswith("-") or len(positionals) == most:
            return None
        else:
            positionals.append(word)
    return found, positionals


def fast_command(argv: list[str]) -> Callable[[], int] | None:
    """A runner for a plain `report`/`status` command line, else None (use typer)."""
    if not argv or argv[0] not in FAST_COMMANDS:
        return None
    plain = plain_arguments(argv[0], argv[1:])
    if plain is None:
        return None
    found, positionals = plain
    from ai_skills.cli import worker_run

    if argv[0] == "status":
        return lambda: worker_run.do_status(
            positionals[0] if positionals else None,
            no_git="no_git" in found,
            all_tasks="all_tasks" in found,
            as_json="as_json" in found,
        )
    text = {k: v for k, v in found.items() if isinstance(v, str)}
    if "status" not in text or not _is_number(text.get("attempt", "0")):
        return None  # typer names the missing option or the bad number
    return lambda: worker_run.do_report(
        status=text["status"],
        message=text.get("message", ""),
        task=text.get("task"),
        attempt=int(text["attempt"]) if "attempt" in text else None,
        key=text.get("key"),
        as_json="as_json" in found,
    )


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def check_text_arguments(args: list[str]) -> None:
    """Refuse an argument that is not UTF-8 (titles, messages): the store holds only text."""
    for index, arg in enumerate(args):
        bad = next((c for c in arg if "\udc80" <= c <= "\udcff"), None)
        if bad is None:
            continue
        if arg.startswith("--") and "=" in arg:
            where = arg.split("=", 1)[0]
        elif index > 0 and args[index - 1].startswith("-"):
            where = args[index - 1]
        else:
            where = f"argument {index + 1}"
        from ai_skills.errors import UsageError

        raise UsageError(f"{where}: not UTF-8 text (byte 0x{ord(bad) - 0xDC00:02x}); "
                         "pass UTF-8 text")


def run_checked(args: list[str], command: Callable[[], int]) -> int:
    """Run `command` after the text and role checks; errors become one line on stderr."""
    from ai_skills.cli.quick_exit import silence_stdout
    from ai_skills.cli.render import fail
    from ai_skills.errors import AiSkillsError
    from ai_skills.worker.roles import check_command

    try:
        check_text_arguments(args)
        check_command(args)  # roles first: a refused command never reaches its own code
        return command()
    except AiSkillsError as error:
        return fail(error, prog="worker")
    except BrokenPipeError:  # the reader went away (`| head`): exit 1 quietly, as typer does
        silence_stdout()
        return 1
    except Exception as error:
        # A report through the supervisor's socket never opens the store: no need to import
        # its backends to recognise their errors.
        if "ai_skills.worker.store" not in sys.modules:
            raise
        from ai_skills.worker.store import database_errors

        if not isinstance(error, database_errors()):
            raise
        sys.stderr.write(f"worker: error: store: {error}\n")
        return 1
    except KeyboardInterrupt:
        return 130


def print_version() -> int:
    """`worker --version`."""
    from ai_skills import __version__

    sys.stdout.write(f"worker {__version__}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `worker` and return its exit code: plain `report`/`status` here, the rest in typer."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        return print_version()
    command = fast_command(args)
    if command is None:
        from ai_skills.cli.worker import main as run_typer_app

        return run_typer_app(args)
    import gc

    # These commands live milliseconds: collecting cycles during their imports only costs.
    gc.disable()
    try:
        return run_checked(args, command)
    finally:
        gc.enable()


def run() -> None:
    """Console-script entry point."""
    from ai_skills.cli.quick_exit import exit_now

    exit_now(main())


if __name__ == "__main__":
    run()
