"""`worker`: run coding agents on tasks, each in its own clone of the repository.

Wiring only: parse, call one core function, render, choose the exit code. The console script
starts in `cli.worker_entry`, which runs plain `report` and `status` command lines without
importing this module (or typer); core modules are imported inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ai_skills.cli.render import render
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
from ai_skills.cli.worker_entry import print_version, run_checked
from ai_skills.cli.worker_hosts import register_host_commands
from ai_skills.cli.worker_lifecycle import register_lifecycle_commands, show_start
from ai_skills.cli.worker_ops import register_ops_commands
from ai_skills.cli.worker_profiles import register_profile_commands
from ai_skills.cli.worker_review import register_review_commands
from ai_skills.cli.worker_run import RECENT_FINAL, do_report, do_status
from ai_skills.worker.errors import EXIT_CODES

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
    needs: Annotated[
        list[str] | None,
        typer.Option(
            "--needs",
            metavar="LABEL",
            help="A label the host that runs it must have, `word` or `key=value` "
            "(repeatable; only host daemons with all of them start it).",
        ),
    ] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task in state `queued`."""
    from ai_skills.worker.run.intake import new_task
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
        needs=needs,
    )
    task = add_task(open_store(ctx), new, key=key)
    needed = f", needs {','.join(task.needs)}" if task.needs else ""
    render(_task_json(task), as_json=as_json,
           lines=lambda: [f"{task.id}: {task.state.value} (base {task.base}, branch "
                          f"{task.branch}{needed})"])


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
    from ai_skills.worker.run.launch import start_task
    from ai_skills.worker.run.retry import retry_task
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
    raise typer.Exit(
        do_report(
            status=status, message=message, task=task, attempt=attempt, key=key, as_json=as_json
        )
    )


@app.command()
def status(
    task_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Skip commit and file counts (faster).")
    ] = False,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help=f"Every task; without it, of the merged, cancelled and failed ones only the "
            f"{RECENT_FINAL} that changed last.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show tasks: state, branch, worktree, attempt, pid, heartbeat age, commits, files.

    Lists every task still in play, and the last few that finished (--all: every task).
    """
    raise typer.Exit(do_status(task_id, no_git=no_git, all_tasks=all_, as_json=as_json))


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
    from ai_skills.worker.ops.status import follow_file, log_file, log_finished

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
register_host_commands(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (errors become one line on stderr)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        return print_version()

    def run_app() -> int:
        try:
            app(args=args, prog_name="worker", standalone_mode=True)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return 0

    return run_checked(args, run_app)


def run() -> None:
    """Entry point of `python -m ai_skills.cli.worker` (the console script: cli.worker_entry)."""
    from ai_skills.cli.quick_exit import exit_now

    exit_now(main())


if __name__ == "__main__":
    run()
