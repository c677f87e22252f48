"""`worker`: run coding agents on tasks, each in its own clone of the repository.

Wiring only: parse, call one core function, render, choose the exit code. Core modules are
imported inside the commands so `worker report` and `worker status` start fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ai_skills.cli.render import emit_json, fail, note, render, say
from ai_skills.cli.worker_common import (
    JsonOpt,
    RuntimeCommandOpt,
    RuntimeOpt,
    TaskArg,
    load_worker_config,
    open_repo,
    open_store,
    open_workspace,
)
from ai_skills.cli.worker_lifecycle import register_lifecycle_commands, show_start
from ai_skills.cli.worker_ops import register_ops_commands
from ai_skills.cli.worker_profiles import register_profile_commands
from ai_skills.cli.worker_review import register_review_commands
from ai_skills.errors import AiSkillsError, UsageError
from ai_skills.worker.errors import EXIT_CODES, EXIT_CONFLICT

# "\b" keeps click from re-wrapping the table into one paragraph.
EPILOG = "`worker --version` prints the version.\n\n\b\nExit codes:\n" + "\n".join(
    f"  {code}  {text}" for code, text in EXIT_CODES.items()
)

app = typer.Typer(
    name="worker",
    help="Run coding agents (Claude Code, Codex, OpenCode or any command) on tasks, each in "
    "its own clone of the repository on branch worker/ID (beside the repository, in "
    "<repo>.worktrees/ID), inside a bubblewrap sandbox that can write only that clone; "
    "one SQLite store under .git/worker records every task, attempt and event. "
    "Start with `worker doctor`, `worker add`, `worker start`; docs/worker.md has a first session.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

KeyOpt = Annotated[
    str | None,
    typer.Option("--idempotency-key", help="Retry-safe: a repeated key returns the first result."),
]


@app.command()
def add(
    task_id: Annotated[str, typer.Argument(metavar="ID", help="Task id: letters, digits, . _ -")],
    title: Annotated[str, typer.Option("--title", help="One line saying what to do.")],
    description: Annotated[
        str | None, typer.Option("--description", help="The full task for the agent.")
    ] = None,
    description_file: Annotated[
        Path | None, typer.Option("--description-file", help="Read the description from a file.")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="Path glob the task may touch (repeatable); overlapping "
            "scopes do not run at the same time.",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Branch to start from (default: integration "
            "branch from .worker.toml, else the current branch).",
        ),
    ] = None,
    priority: Annotated[int, typer.Option("--priority", help="Higher starts first.")] = 0,
    runtime: RuntimeOpt = None,
    runtime_command: RuntimeCommandOpt = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Runtime profile from .worker.toml [profiles.NAME]."),
    ] = None,
    fallback: Annotated[
        str | None,
        typer.Option(
            "--fallback",
            help="Profiles to try next, in order, when one is rate-limited (A,B).",
        ),
    ] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task in state `queued`."""
    from ai_skills.worker.intake import new_task
    from ai_skills.worker.tasks import add_task

    ctx = open_repo()
    new = new_task(
        ctx,
        load_worker_config(ctx),
        task_id=task_id,
        title=title,
        description=description,
        description_file=description_file,
        scopes=scope,
        base=base,
        priority=priority,
        runtime=runtime,
        runtime_command=runtime_command,
        profile=profile,
        fallback=fallback,
    )
    task = add_task(open_store(ctx), new, key=key)
    render(_task_json(task), as_json=as_json,
           lines=lambda: [f"{task.id}: {task.state.value} (base {task.base}, branch "
                          f"{task.branch})"])


def _task_json(task: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {**asdict(task), "state": task.state.value}


@app.command()
def start(
    task_id: TaskArg,
    runtime: RuntimeOpt = None,
    runtime_command: RuntimeCommandOpt = None,
    message: Annotated[
        str,
        typer.Option(
            "--message",
            "-m",
            help="Answer to the agent's question (a needs_input task) or new instructions; "
            "added to the next attempt's prompt.",
        ),
    ] = "",
    retry: Annotated[
        bool,
        typer.Option(
            "--retry", help="Also run a `failed` task again (the same as `worker retry ID`)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start a task's agent now, or queue the request when no WIP slot is free (exit 5).

    Also restarts a `stalled` task, a `changes_requested` one, or a `needs_input` one whose
    agent has exited (pass the answer with --message); with --retry, a `failed` one.
    """
    from ai_skills.worker.launch import start_task
    from ai_skills.worker.retry import retry_task
    from ai_skills.worker.tasks import get_task

    ctx, conn, config = open_workspace()
    if retry and get_task(conn, task_id).state.value == "failed":
        result = retry_task(
            ctx,
            conn,
            config,
            task_id,
            message=message,
            runtime=runtime,
            runtime_command=runtime_command,
        )
    else:
        result = start_task(
            ctx,
            conn,
            config,
            task_id,
            runtime=runtime,
            runtime_command=runtime_command,
            message=message,
        )
    show_start(result, as_json=as_json)


@app.command()
def report(
    status: Annotated[str, typer.Option("--status", help="working | needs-input | blocked | done")],
    message: Annotated[str, typer.Option("--message", "-m", help="What you did or need.")] = "",
    task: Annotated[
        str | None, typer.Option("--task", help="Task id (default: $WORKER_TASK_ID).")
    ] = None,
    attempt: Annotated[
        int | None, typer.Option("--attempt", help="Attempt id (default: $WORKER_ATTEMPT_ID).")
    ] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report progress from inside a task, to its supervisor; `done` moves it to in_review."""
    from ai_skills.worker.errors import ReportContextError
    from ai_skills.worker.report import report as do_report

    channel = os.environ.get("WORKER_REPORT_SOCKET")
    if channel:
        # The supervisor of this attempt applies it (worker/channel.py); the store is not ours.
        from ai_skills.worker.channel import send_report

        outcome = send_report(Path(channel), status=status, message=message, key=key)
        if as_json:
            emit_json(outcome)
        elif outcome["accepted"]:
            say(f"{outcome['task_id']}: {outcome['state']}")
        else:
            note(f"worker: {outcome['note']}")
        if not outcome["accepted"]:
            raise typer.Exit(EXIT_CONFLICT)
        return
    env_task = os.environ.get("WORKER_TASK_ID")
    task_id = task or env_task
    if not task_id:
        raise ReportContextError(
            detail="no task: run inside a worker agent (WORKER_TASK_ID) or pass --task ID"
        )
    if attempt is None and task_id == env_task and os.environ.get("WORKER_ATTEMPT_ID"):
        try:
            attempt = int(os.environ["WORKER_ATTEMPT_ID"])
        except ValueError as exc:
            raise ReportContextError(detail="WORKER_ATTEMPT_ID is not a number") from exc
    ctx = open_repo()
    result = do_report(
        open_store(ctx),
        task_id=task_id,
        attempt_id=attempt,
        status=status,
        message=message,
        key=key,
    )
    if as_json:
        emit_json(result.as_dict())
    elif result.accepted:
        say(f"{task_id}: {result.state}")
    else:
        note(f"worker: {result.note}")
    if not result.accepted:
        # An agent of a superseded attempt learns it should stop.
        raise typer.Exit(EXIT_CONFLICT)


@app.command()
def status(
    task_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Skip commit and file counts (faster).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show tasks: state, branch, worktree, attempt, pid, heartbeat age, commits, files."""
    from ai_skills.worker.status import task_statuses

    ctx = open_repo()
    rows = task_statuses(ctx, open_store(ctx), task_id, with_git=not no_git)
    if as_json:
        emit_json(rows[0].as_dict() if task_id else [r.as_dict() for r in rows])
        return
    from ai_skills.worker.text import status_lines

    for line in status_lines(rows, detailed=task_id is not None):
        say(line)


@app.command()
def logs(
    task_id: TaskArg,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Keep printing as the agent writes, until its attempt ends."
        ),
    ] = False,
    attempt: Annotated[int | None, typer.Option("--attempt", help="Attempt number.")] = None,
) -> None:
    """Print the agent's output of the current (or a given) attempt."""
    from ai_skills.worker.status import follow_file, log_file, log_finished

    ctx = open_repo()
    conn = open_store(ctx)
    path = log_file(conn, task_id, attempt_number=attempt)

    def finished() -> bool:
        return not follow or log_finished(conn, task_id, path)

    out = sys.stdout.buffer
    for chunk in follow_file(path, finished=finished):
        out.write(chunk)
        out.flush()


register_lifecycle_commands(app)
register_review_commands(app)
register_ops_commands(app)
register_profile_commands(app)


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
        raise UsageError(f"{where}: not UTF-8 text (byte 0x{ord(bad) - 0xDC00:02x}); "
                         "pass UTF-8 text")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (errors become one line on stderr)."""
    from ai_skills.worker.roles import check_command

    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from ai_skills import __version__

        say(f"worker {__version__}")
        return 0
    try:
        check_text_arguments(args)
        check_command(args)  # roles first: a refused command never reaches its own code
        app(args=args, prog_name="worker", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except AiSkillsError as error:
        return fail(error, prog="worker")
    except Exception as error:
        from ai_skills.worker.store import database_errors

        if not isinstance(error, database_errors()):
            raise
        sys.stderr.write(f"worker: error: store: {error}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
