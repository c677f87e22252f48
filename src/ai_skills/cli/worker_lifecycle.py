"""`worker cancel | retry`, registered on the `worker` app, and what `start` prints.

Wiring only, like `ai_skills.cli.worker`; it does not import that module, so
`python -m ai_skills.cli.worker` gets these commands too.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ai_skills.cli.render import note, render
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
from ai_skills.errors import UsageError
from ai_skills.worker.errors import EXIT_WAITING


def register_lifecycle_commands(app: typer.Typer) -> None:
    """Add cancel and retry to the `worker` app."""
    for command in (cancel, retry):
        app.command()(command)


def show_start(result: Any, *, as_json: bool) -> None:
    """What `start` and `retry` print; exit 5 when the task has to wait."""
    task_id = result.task_id
    for warning in result.warnings:
        note(f"worker: warning: {warning}")
    if result.admitted:
        said = "already running" if result.reason == "already running" else "running"
        line = (f"{task_id}: {said} (attempt {result.attempt}, supervisor pid "
                f"{result.supervisor_pid}) in {result.worktree}")
    else:
        line = (f"{task_id}: waiting: {result.reason}; `worker tick` or the daemon starts it "
                "when a slot frees")
    render(result, as_json=as_json, lines=lambda: [line])
    if not result.admitted:
        raise typer.Exit(EXIT_WAITING)


def cancel(
    task_id: Annotated[str | None, typer.Argument(metavar="ID")] = None,
    task_opt: Annotated[
        str | None, typer.Option("--taskId", "--task-id", help="Same as ID (original spelling).")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded).")] = None,
    cleanup: Annotated[
        bool,
        typer.Option(
            "--cleanup", help="Also remove the worktree; the branch stays unless it is merged."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Kill the agent at once instead of TERM and a grace period."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Stop a task's agent, commit its uncommitted work to the task branch, mark it cancelled."""
    from ai_skills.worker.run.cancel import CancelOptions, cancel_task

    if task_id and task_opt and task_id != task_opt:
        raise UsageError(f"two task ids given ({task_id!r} and --taskId {task_opt!r})")
    target = task_id or task_opt
    if not target:
        raise UsageError("which task? `worker cancel ID --reason R`")
    if not reason:
        raise UsageError("say why: --reason TEXT (it is recorded in the event log)")
    ctx = open_repo()
    config = load_worker_config(ctx)
    options = CancelOptions(
        reason=reason,
        cleanup=cleanup,
        force=force,
        grace_seconds=config.cancel_grace_seconds,
        integration_branch=config.integration_branch,
    )
    result = cancel_task(ctx, open_store(ctx), target, options)
    from ai_skills.worker.ops.status_text import cancel_lines

    render(result, as_json=as_json, lines=lambda: cancel_lines(result))


def retry(
    task_id: TaskArg,
    message: Annotated[
        str, typer.Option("--message", "-m", help="More instructions for the new attempt.")
    ] = "",
    runtime: RuntimeOpt = None,
    runtime_command: RuntimeCommandOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a `failed` task again: a new attempt on its branch, the failure in its prompt.

    `failed` is final for `tick` and the daemon; only this (or `start --retry`) moves it on.
    Exit 5 when the new attempt has to wait for a slot (it is queued then).
    """
    from ai_skills.worker.run.retry import retry_task

    result = retry_task(
        *open_workspace(),
        task_id,
        message=message,
        runtime=runtime,
        runtime_command=runtime_command,
    )
    show_start(result, as_json=as_json)
