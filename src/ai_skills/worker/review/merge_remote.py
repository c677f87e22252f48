"""The merge and the shared remote (`remote`: several hosts): push the integration branch
there after the merge moved it here, and delete the merged task branch there too.

Never a force over someone else's commit: the integration branch goes with a lease on the
commit fetched just before, and only when that commit is part of it (a fast-forward made
atomic); the task branch is deleted only while it still is the merged commit.
"""

from __future__ import annotations

from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import RemoteUnreachableError
from ai_skills.worker.run import remote_branch
from ai_skills.worker.store import Db
from ai_skills.worker.tasks import get_task, record_event


def push_integration(
    ctx: RepoContext, conn: Db, remote: str, task_id: str, branch: str
) -> str | None:
    """Push `branch` to the remote; None when it landed, else why not (recorded as a
    `integration_push_failed` event). The local branch is never changed here."""
    try:
        theirs = remote_branch.fetch_branch(ctx.repo_root, remote, branch)
        done = remote_branch.push_with_lease(ctx.repo_root, remote, branch, expected=theirs)
    except RemoteUnreachableError as exc:
        why = f"{branch} was not pushed: {exc}; `worker merge {task_id}` tries again"
        record_event(conn, kind="integration_push_failed", task_id=task_id,
                     data={"remote": remote, "branch": branch, "reason": why})
        return why
    if done.landed:
        record_event(conn, kind="integration_pushed", task_id=task_id,
                     data={"remote": remote, "branch": branch, "sha": done.local,
                           "lease": theirs})
        return None
    local = (done.local or "?")[:12]
    if done.outcome == "rejected":
        why = (
            f"{remote}'s {branch} is at {(done.remote or '?')[:12]}, which {branch} here "
            f"({local}) does not contain: someone pushed meanwhile. Nothing was forced or "
            f"overwritten. Bring {branch} here up to date (`git pull --no-rebase {remote} "
            f"{branch}` where it is checked out), then `worker merge {task_id}` pushes it"
        )
    else:
        why = (f"{branch} ({local}) was not pushed to {remote}: {done.detail}; "
               f"`worker merge {task_id}` tries again")
    record_event(conn, kind="integration_push_failed", task_id=task_id,
                 data={"remote": remote, "branch": branch, "local": done.local,
                       "remote_sha": done.remote, "reason": why})
    return why


def delete_task_branch(
    ctx: RepoContext, conn: Db, remote: str, task_id: str, merged: str
) -> str | None:
    """Delete the task's branch on the remote while it still is the `merged` commit; a
    note when it was kept."""
    branch = get_task(conn, task_id).branch
    done = remote_branch.delete_with_lease(ctx.repo_root, remote, branch, expected=merged)
    if done.outcome == "pushed":
        record_event(conn, kind="branch_deleted", task_id=task_id,
                     data={"branch": branch, "remote": remote, "sha": merged})
    if done.landed:
        return None
    where = f"it is at {done.remote[:12]}" if done.remote else done.detail
    return f"branch {branch} kept on {remote} ({where}); it was not deleted there"
