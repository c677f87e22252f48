"""The bodies of `worker report` and `worker status`, free of typer so a fast entry can call them.

Agents run `worker report` after every step and supervisors poll `worker status --json`;
importing typer (and through it pydantic) costs ten Python start-ups, so `cli.worker_entry`
parses these two commands itself when it can. The typer commands in `cli.worker` call the
same functions, so both ways give the same output and exit code.
"""

from __future__ import annotations

import os
import sys

from ai_skills.cli.render import emit_json, say
from ai_skills.worker.errors import EXIT_CONFLICT

TYPE_CHECKING = False  # `typing` costs milliseconds on every report
if TYPE_CHECKING:
    from ai_skills.worker.context import RepoContext
    from ai_skills.worker.store import Db

# Finished tasks (merged, cancelled, failed) `status` shows without --all: the last changed.
RECENT_FINAL = 20


def do_report(
    *,
    status: str,
    message: str,
    task: str | None,
    attempt: int | None,
    key: str | None,
    as_json: bool,
) -> int:
    """`worker report`: an agent tells its supervisor how the task goes; returns the exit code."""
    from ai_skills.worker.run.report_client import report_output

    channel = os.environ.get("WORKER_REPORT_SOCKET")
    if channel:
        # The supervisor of this attempt applies it (worker/run/report_socket.py); the store is not
        # ours.
        return _send_to_supervisor(channel, status=status, message=message, key=key,
                                   as_json=as_json)
    from ai_skills.worker.errors import ReportContextError
    from ai_skills.worker.run.report import report

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
    conn = open_store(open_repo())
    result = report(
        conn, task_id=task_id, attempt_id=attempt, status=status, message=message, key=key
    )
    if as_json:
        emit_json(result.as_dict())
        return 0 if result.accepted else EXIT_CONFLICT
    return _print(report_output({"result": result.as_dict()}))


def _send_to_supervisor(
    channel: str, *, status: str, message: str, key: str | None, as_json: bool
) -> int:
    from ai_skills.worker.run.report_client import send_report

    answer = send_report(channel, status=status, message=message, key=key, as_json=as_json)
    if isinstance(answer, dict):  # --json: the result, as the store path prints it
        emit_json(answer)
        return 0 if answer["accepted"] else EXIT_CONFLICT
    return _print(answer)


def _print(output: tuple[int, str, str]) -> int:
    code, out, err = output
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


def do_status(task_id: str | None, *, no_git: bool, all_tasks: bool, as_json: bool) -> int:
    """`worker status [ID]`: tasks with their attempt, agent and progress; returns 0."""
    from ai_skills.worker.ops.status import task_statuses

    ctx = open_repo()
    conn = open_store(ctx)
    recent_final = None if all_tasks else RECENT_FINAL
    rows = task_statuses(ctx, conn, task_id, with_git=not no_git, recent_final=recent_final)
    if as_json:
        emit_json(rows[0].as_dict() if task_id else [r.as_dict() for r in rows])
        return 0
    from ai_skills.worker.ops.status_text import status_lines
    from ai_skills.worker.store.tasks import count_tasks

    for line in status_lines(rows, detailed=task_id is not None):
        say(line)
    hidden = 0 if task_id else count_tasks(conn) - len(rows)
    if hidden:
        say(f"({hidden} older finished tasks not shown; `worker status --all` lists them)")
    return 0


def open_repo() -> RepoContext:
    """The repository (and its worker paths) around the current folder."""
    from ai_skills.worker.context import find_repo

    return find_repo(os.getcwd())


def open_store(ctx: RepoContext) -> Db:
    """A connection to the repository's worker store (SQLite, or the configured server)."""
    from ai_skills.worker.store import open_store as open_configured

    return open_configured(ctx)


def check_store(ctx: RepoContext) -> None:
    """Refuse a store that cannot be opened (a bad setting, an unreachable server)."""
    open_store(ctx).close()
