"""`worker watch | tick | reconcile | daemon`, registered on the `worker` app.

Wiring only, like `ai_skills.cli.worker`; it does not import that module, so
`python -m ai_skills.cli.worker` gets these commands too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from ai_skills.cli.render import note, render, say
from ai_skills.cli.worker_common import JsonOpt, load_worker_config, open_repo, open_workspace
from ai_skills.cli.worker_run import check_store
from ai_skills.errors import UsageError
from ai_skills.worker.errors import EXIT_FINDINGS

daemon_app = typer.Typer(
    help="Run `worker tick` in the background (one daemon per repository).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register_ops_commands(app: typer.Typer) -> None:
    """Add watch, tick, reconcile and the daemon group to the `worker` app."""
    for command in (watch, tick, reconcile):
        app.command()(command)
    app.add_typer(daemon_app, name="daemon")


def watch(
    since: Annotated[
        int | None, typer.Option("--since", help="Cursor: print events after this sequence number.")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Print what is there and exit (default).")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep waiting for events.")
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Durable cursor: resume where the last watch with this name stopped."
        ),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Only this task's events.")] = None,
    no_hook: Annotated[bool, typer.Option("--no-hook", help="Do not run hook_command.")] = False,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll",
            min=0.01,
            metavar="SECONDS",
            help="With --follow, the longest wait between reads of the store, in seconds "
            "(default 0.5 on SQLite; 5 on PostgreSQL, where each new event wakes the watch "
            "at once).",
        ),
    ] = None,
    trace: Annotated[bool, typer.Option("--trace", hidden=True)] = False,
    as_json: JsonOpt = False,
) -> None:
    """Stream the event log; takes its turn running hook_command (once per transition).

    The daemon and every watch, on any host sharing the store, take turns through one
    hook claim in the store, so each transition runs the hook once, whoever reads it
    first (`--task` filters only what is printed). On PostgreSQL a new event wakes the
    watch at once (LISTEN/NOTIFY); on SQLite it looks every half second.
    """
    from ai_skills.worker.ops.hooks import HookRunner
    from ai_skills.worker.ops.watch import load_cursor, stream_events

    if once and follow:
        raise UsageError("give --once or --follow, not both")
    ctx, conn, config = open_workspace()
    hook = None if no_hook else config.hook_command
    cursor = since if since is not None else (load_cursor(conn, name) if name else 0)
    runner = HookRunner(ctx.repo_root)

    def run_hooks() -> None:
        for run in runner.run_due(conn, hook) if hook else []:
            if run.exit_code != 0:
                note(f"worker: hook_command exited with {run.exit_code} on event {run.seq}")

    def unreachable(exc: Exception) -> None:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        note(f"worker: the store is unreachable ({first}); retrying")

    events = stream_events(
        conn, since=cursor, follow=follow, poll=poll, name=name, between=run_hooks,
        trace=(lambda line: note(f"worker: watch {line}")) if trace else lambda _line: None,
        unreachable=unreachable,
    )  # fmt: skip
    try:
        for event in events:
            if task is None or event.task_id == task:
                _print_event(event, as_json=as_json)
    except KeyboardInterrupt:
        return
    finally:
        events.close()


def _print_event(event: Any, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(event.as_dict(), sort_keys=True) + "\n")
    else:
        from ai_skills.worker.ops.status_text import event_line

        say(event_line(event))
    sys.stdout.flush()


def tick(as_json: JsonOpt = False) -> None:
    """One pass: mark dead or idle runs stalled, start waiting tasks while slots are free."""
    from ai_skills.worker.ops.tick import tick as do_tick

    report = do_tick(*open_workspace())
    render(report, as_json=as_json, lines=lambda: _tick_lines(report),
           notes=lambda: [f"worker: {e['task_id']}: {e['error']}" for e in report.errors])


def _tick_lines(report: Any) -> Iterator[str]:
    for v in report.stalled:
        yield f"{v.task_id}: stalled: {v.reason}"
    for changed in report.reviewed:
        yield f"{changed['task_id']}: {changed['state']}: {changed['reason']}"
    for r in report.started:
        yield f"{r.task_id}: running (attempt {r.attempt})"
    for r in report.waiting:
        yield f"{r.task_id}: waiting: {r.reason}"


def reconcile(
    fix: Annotated[bool, typer.Option("--fix", help="Apply the safe repairs.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compare the store with git worktrees, branches and processes; name each difference."""
    from ai_skills.worker.ops.reconcile import reconcile as do_reconcile

    findings = do_reconcile(*open_workspace(), fix=fix)
    from ai_skills.worker.ops.status_text import finding_lines

    render(findings, as_json=as_json, lines=lambda: finding_lines(findings))
    if any(not f.fixed for f in findings):
        raise typer.Exit(EXIT_FINDINGS)


def _daemon_out(status: Any, *, as_json: bool) -> None:
    state = f"running (pid {status.pid})" if status.running else "not running"
    host = ""
    if status.host:
        labels = ",".join(status.labels or []) or "no labels"
        host = f" of host {status.host} ({labels}, WIP {status.max_running})"
    line = (f"daemon{host} {state}{'; ' + status.note if status.note else ''}; "
            f"log {status.log_file}")
    render(status, as_json=as_json, lines=lambda: [line])


@daemon_app.command("start")
def daemon_start(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="NAME",
            help="Run as this host of several sharing a PostgreSQL store (docs/worker.md, "
            "Several hosts); the clone remembers it for later commands.",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            metavar="LABEL",
            help="What this host offers, `word` or `key=value` (repeatable).",
        ),
    ] = None,
    max_running: Annotated[
        int | None,
        typer.Option(
            "--max-running", min=1, metavar="N",
            help="This host's WIP limit (default: max_running).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start the daemon (does nothing when it already runs)."""
    from ai_skills.worker.hosts import Host, check_host_name, check_labels
    from ai_skills.worker.ops.daemon import prepare_host, start_daemon

    ctx = open_repo()
    if host is None and (label or max_running is not None):
        raise UsageError("--label and --max-running describe a host: give --host NAME too")
    if host is not None:
        config = load_worker_config(ctx)
        adopted = prepare_host(ctx, Host(
            name=check_host_name(host),
            labels=tuple(check_labels(label, where="--label")),
            max_running=config.max_running if max_running is None else max_running,
        ))  # fmt: skip
        if adopted:
            note(f"worker: joined the database's repository {adopted} "
                 f"({ctx.worker_dir / 'store-id'})")
    check_store(ctx)
    status = start_daemon(ctx)
    if host is not None and status.host != host:
        note(f"worker: the daemon already runs as host {status.host or '(none)'}; "
             "`worker daemon stop` first to change it")
    _daemon_out(status, as_json=as_json)
    if not status.running:
        raise typer.Exit(1)


@daemon_app.command("status")
def daemon_status(as_json: JsonOpt = False) -> None:
    """Say whether the daemon runs (exit 3 when it does not)."""
    from ai_skills.worker.ops.daemon import daemon_status as get_status

    status = get_status(open_repo())
    _daemon_out(status, as_json=as_json)
    if not status.running:
        raise typer.Exit(3)


@daemon_app.command("stop")
def daemon_stop(as_json: JsonOpt = False) -> None:
    """Stop the daemon."""
    from ai_skills.worker.ops.daemon import stop_daemon

    _daemon_out(stop_daemon(open_repo()), as_json=as_json)
