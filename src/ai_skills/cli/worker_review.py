"""`worker gate | review | merge | conflicts | stats`, registered on the `worker` app.

Wiring only, like `ai_skills.cli.worker`: parse, call one core function, render, exit code.
This module does not import `ai_skills.cli.worker`, so `python -m ai_skills.cli.worker`
(whose app is `__main__.app`) gets these commands too.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ai_skills.cli.render import progress_after, render
from ai_skills.cli.worker_common import (
    JsonOpt,
    TaskArg,
    open_repo,
    open_store,
    open_workspace,
)
from ai_skills.errors import UsageError
from ai_skills.worker.errors import EXIT_CONFLICT, EXIT_FINDINGS, EXIT_GATES


def register_review_commands(app: typer.Typer) -> None:
    """Add gate, review, merge, conflicts and stats to the `worker` app."""
    for command in (gate, review, merge, conflicts, stats):
        app.command()(command)


# A gate that takes a while gets a progress line on stderr; quick ones print nothing.
_progress = progress_after("worker", 1.0)


def gate(task_id: TaskArg, as_json: JsonOpt = False) -> None:
    """Run the [gates] commands in the task's worktree at its head commit; exit 8 on failure."""
    from ai_skills.worker.review.findings import check_task
    from ai_skills.worker.review.gates import gate_task

    ctx, conn, config = open_workspace()
    result = gate_task(
        ctx, conn, config.gates, task_id, progress=_progress, remote=config.remote
    )
    task = check_task(ctx, conn, config, task_id)
    from ai_skills.worker.review.text import gate_lines

    lines = list(gate_lines(task_id, result.as_dict()))
    if task.state.value == "needs_human":
        lines.append(f"{task_id}: needs_human: {task.reason}")
    data = {**result.as_dict(), "task_id": task_id, "state": task.state.value}
    render(data, as_json=as_json, lines=lambda: lines)
    if not result.passed:
        raise typer.Exit(EXIT_GATES)


def review(
    task_id: TaskArg,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the branch head (gates must have passed).")
    ] = False,
    request_changes: Annotated[
        bool,
        typer.Option(
            "--request-changes", help="Send the task back with --reason; restarts the agent."
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Feedback for the agent; with --approve, why the change is fine (needed "
            "for files outside the declared scope, or with --no-gates).",
        ),
    ] = None,
    human: Annotated[
        bool, typer.Option("--human", help="A human decides (needed for needs_human tasks).")
    ] = False,
    no_gates: Annotated[
        bool, typer.Option("--no-gates", help="Approve without passing gates (needs --reason).")
    ] = False,
    no_restart: Annotated[
        bool, typer.Option("--no-restart", help="Only record the change request.")
    ] = False,
    sha: Annotated[
        str | None,
        typer.Option("--sha", help="Approve only if the branch head is this commit."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the diff stat, commits, gate results and findings; approve or request changes."""
    from ai_skills.worker.review import verdict as core

    if approve and request_changes:
        raise UsageError("give --approve or --request-changes, not both")
    if (no_gates or sha) and not approve:
        raise UsageError("--no-gates and --sha only go with --approve")
    if no_restart and not request_changes:
        raise UsageError("--no-restart only goes with --request-changes")
    if (human or reason) and not (approve or request_changes):
        raise UsageError("--human and --reason go with --approve or --request-changes")
    if no_gates and not reason:
        raise UsageError("--no-gates needs --reason TEXT (it is recorded)")
    if request_changes and not reason:
        raise UsageError("say what to change: --request-changes --reason TEXT")
    ctx, conn, config = open_workspace()
    if request_changes:
        assert reason is not None
        result = core.request_changes(
            ctx, conn, config, task_id, reason=reason, restart=not no_restart, human=human
        )
        restarted = f"  agent restarted (attempt {result.attempt}) with the feedback"
        render(
            result,
            as_json=as_json,
            lines=lambda: [f"{task_id}: {result.state} (change request {result.change_requests})",
                           *([restarted] if result.restarted else [])],
            notes=lambda: [f"worker: {line}" for line in result.notes],
        )
        return
    if approve:
        view = core.approve(
            ctx,
            conn,
            config,
            task_id,
            human=human,
            no_gates_reason=reason if no_gates else None,
            sha=sha,
            reason=reason,
        )
    else:
        view = core.show_review(ctx, conn, config, task_id)
    from ai_skills.worker.review.text import review_lines

    render(view, as_json=as_json, lines=lambda: review_lines(view))


def merge(
    task_id: TaskArg,
    strategy: Annotated[
        str | None,
        typer.Option("--strategy", help="merge (default), squash, or rebase (fast-forward only)."),
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", help="Seconds to wait for another merge to finish (default 0)."),
    ] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Merge an approved task into its integration branch, or resume an interrupted merge."""
    from ai_skills.worker.review.merge import merge_task

    result = merge_task(
        *open_workspace(),
        task_id,
        strategy=strategy,
        wait=wait,
        progress=_progress,
    )
    from ai_skills.worker.review.text import merge_lines

    render(result, as_json=as_json, lines=lambda: merge_lines(result))
    if result.outcome in ("refused", "unpushed"):
        raise typer.Exit(EXIT_CONFLICT)
    if result.outcome not in ("merged", "already_merged"):
        raise typer.Exit(EXIT_GATES)


def conflicts(as_json: JsonOpt = False) -> None:
    """Pairs of active tasks whose scopes or changed files overlap; exit 7 if any would conflict."""
    from ai_skills.worker.review.conflicts import find_conflicts

    pairs = find_conflicts(*open_workspace())
    from ai_skills.worker.review.text import conflict_lines

    render(pairs, as_json=as_json, lines=lambda: conflict_lines(pairs))
    if any(p.would_conflict for p in pairs):
        raise typer.Exit(EXIT_FINDINGS)


def stats(as_json: JsonOpt = False) -> None:
    """Queue wait, run time, review time, change requests and gate failures, from the events."""
    from ai_skills.worker.ops.stats import compute_stats

    ctx = open_repo()
    result = compute_stats(open_store(ctx))
    from ai_skills.worker.review.text import stats_lines

    render(result, as_json=as_json, lines=lambda: stats_lines(result))
