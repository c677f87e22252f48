"""`worker reconcile` with a shared remote (`remote`): name the commits of task branches that
are in this repository but not on the remote (a push that was rejected or never made).

Nothing is fixed automatically: a branch the remote rejected has commits there that this
one lacks, and joining the two is a person's decision.
"""

from __future__ import annotations

from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import RemoteUnreachableError
from ai_skills.worker.ops.reconcile_fix import Finding
from ai_skills.worker.run.remote_branch import remote_heads, unpushed_count
from ai_skills.worker.run.worktrees import is_ancestor, task_branches
from ai_skills.worker.states import ACTIVE, TaskState
from ai_skills.worker.store import Db
from ai_skills.worker.store.events import last_push_rejected
from ai_skills.worker.tasks import list_tasks


def unpushed_findings(ctx: RepoContext, conn: Db, remote: str) -> list[Finding]:
    """One `unpushed_commits` finding per task branch with commits the remote lacks.

    A running task's supervisor pushes at every beat, so its branch is named only when its
    last push was rejected; a merged task's not at all.
    """
    branches = task_branches(ctx.repo_root, ctx.common_dir)
    # A merged task's work is in the integration branch: its branch here may just be left
    # over on a host that ran it (the merge deleted it where it merged, and on the remote).
    tasks = [t for t in list_tasks(conn)
             if t.branch in branches and t.state != TaskState.MERGED]
    if not tasks:
        return []
    try:
        heads = remote_heads(ctx.repo_root, remote, prefix="worker/")
    except RemoteUnreachableError as exc:
        return [Finding("remote_unreachable", None,
                        f"{exc}; commits not on the remote could not be checked", "")]
    found = []
    for task in tasks:
        if task.state in ACTIVE and last_push_rejected(conn, task.id) is None:
            continue
        theirs = heads.get(task.branch)
        count = unpushed_count(ctx.repo_root, remote, task.branch, theirs)
        if not count:
            continue
        there = f"at {theirs[:12]}" if theirs else "has no such branch"
        clone = f" and its clone {task.worktree}" if task.worktree and not task.worktree_removed \
            else ""
        # A fast-forward is a safe repair; a branch the remote has further is a person's.
        forward = theirs is None or is_ancestor(ctx.repo_root, theirs, f"refs/heads/{task.branch}")
        what = "" if forward else (
            f"; {remote}'s has commits it lacks: join them with {remote}'s first, then push"
        )
        found.append(Finding(
            "unpushed_commits",
            task.id,
            f"{task.branch} has {count} commit(s) that {remote} lacks ({remote} {there}); "
            f"they are only in this repository{clone}{what}",
            f"push {task.branch} to {remote} (a fast-forward, never forced)" if forward else "",
        ))
    return found
