"""git in a task's workspace, whatever it is: the agent's clone, or a linked worktree from
before clones (converted by the task's next start, so cancel and merge still meet them).

A clone's config, hooks and attributes are the agent's (clones.py): when bubblewrap runs,
every git command there runs in a sandbox (sandbox.tool_argv) that can write that clone at
most. A linked worktree shares the main repository's config, so git runs there as usual.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import time
from pathlib import Path

from ai_skills.errors import CommandError
from ai_skills.util.git import git_env
from ai_skills.worker.context import RepoContext
from ai_skills.worker.run.clones import (
    clear_half_made,
    forget_workspace,
    is_clone,
    is_linked_worktree,
    local_identity,
    made_here,
    remove_clone,
)
from ai_skills.worker.run.sandbox import available, tool_argv
from ai_skills.worker.run.worktrees import (
    FALLBACK_IDENTITY,
    registered_worktrees,
    remove_worktree,
)
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store.attempts import agent_worked_in
from ai_skills.worker.store.tasks import mark_worktree_removed

_TIMEOUT = 300


def tools_sandboxed() -> bool:
    """Whether worker's own git commands in clones (and gates) run sandboxed: when bwrap runs.

    Independent of the `sandbox` setting: a clone's config is the agent's either way.
    """
    return _bwrap_runs(os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=4)
def _bwrap_runs(search_path: str) -> bool:
    # Probing starts a sandbox (about 5 ms); `tick` asks for every task it looks at.
    return available() == ""


def clone_git(
    clone: Path,
    args: list[str],
    *,
    sandboxed: bool,
    objects: Path,
    writable: bool = False,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`git ARGS` in a clone; in a sandbox that may write the clone at most (`writable`)."""
    argv = ["git", *args]
    if sandboxed:
        argv = tool_argv(clone, argv, readonly=[objects], writable=writable)
    proc = subprocess.run(
        argv, cwd=clone, env=git_env(), capture_output=True, text=True, timeout=_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise CommandError(argv=["git", *args], returncode=proc.returncode, stderr=proc.stderr)
    return proc


def workspace_git(
    ctx: RepoContext, path: Path, args: list[str], *, writable: bool = False, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`git ARGS` in a task's workspace: sandboxed when it is a clone and bwrap runs."""
    return clone_git(
        path, args, sandboxed=is_clone(path) and tools_sandboxed(),
        objects=ctx.common_dir / "objects", writable=writable, check=check,
    )


def fill_identity(ctx: RepoContext, clone: Path) -> list[str]:
    """Give an existing clone the repository's local identity where it has none; the keys
    set. A clone made before the user set one would otherwise fail every commit of its next
    attempts ("Please tell me who you are"). A value the clone has is the agent's: kept."""
    filled = []
    for key, value in local_identity(ctx.repo_root).items():
        has = workspace_git(ctx, clone, ["config", "--local", "--get", key], check=False)
        if has.returncode == 0 and has.stdout.strip():
            continue
        workspace_git(ctx, clone, ["config", "--local", key, value], writable=True)
        filled.append(key)
    return filled


def workspace_head(ctx: RepoContext, path: Path) -> str | None:
    """HEAD of a task's workspace, or None when it is missing or has none."""
    if not path.exists():
        return None
    proc = workspace_git(ctx, path, ["rev-parse", "--verify", "--quiet", "HEAD"], check=False)
    return proc.stdout.strip() or None


def workspace_dirty(ctx: RepoContext, path: Path, *, tracked_only: bool = False) -> list[str]:
    """`git status --porcelain` lines of a task's workspace."""
    untracked = "--untracked-files=no" if tracked_only else "--untracked-files=all"
    out = workspace_git(ctx, path, ["status", "--porcelain", untracked]).stdout
    return [line for line in out.splitlines() if line.strip()]


def drop_stale_index_lock(path: Path, *, patience: float = 3.0) -> bool:
    """Remove a clone's `.git/index.lock` left by a git its stopped agent ran; True if removed.

    Call only once the agent's processes are stopped: the git that took the lock was killed
    with them (an agent cancelled in the middle of `git commit`), and a lock nobody holds
    blocks every later commit there. A short wait first lets a live git (a `worker status`
    refreshing the index) finish and drop its own lock.
    """
    lock = path / ".git" / "index.lock"
    if not is_clone(path):
        return False
    deadline = time.monotonic() + patience
    while lock.exists() or lock.is_symlink():
        if time.monotonic() >= deadline:
            lock.unlink(missing_ok=True)  # a symlink planted there: the link only
            return True
        time.sleep(0.05)
    return False


def save_workspace_work(ctx: RepoContext, path: Path, *, message: str) -> bool:
    """Commit everything uncommitted in a workspace (no hooks); True when there was something."""
    if not path.exists() or not workspace_dirty(ctx, path):
        return False
    workspace_git(ctx, path, ["add", "-A"], writable=True)
    ident = workspace_git(ctx, path, ["var", "GIT_COMMITTER_IDENT"], check=False)
    identity = [] if ident.returncode == 0 else FALLBACK_IDENTITY
    # --no-verify: a hook must not stand between a cancelled agent's work and the branch.
    workspace_git(ctx, path, [*identity, "commit", "-q", "--no-verify", "-m", message],
                  writable=True)
    return True


def owns_workspace(ctx: RepoContext, conn: Db, task_id: str, branch: str, path: Path) -> bool:
    """True when `path` is the task's own workspace, so its work may be saved and the folder
    removed: a clone worker made or adopted for it (`clones.made_here`; a clone from before
    those records counts when the task's agent worked there), or a linked worktree of this
    repository with the task's `branch` (from before clones).

    Anything else at the task's path, such as the folder that refused its start (which the
    task's record still names), is somebody else's: nothing is committed in it or deleted.
    """
    if is_clone(path):
        return made_here(ctx.common_dir, task_id, path) or agent_worked_in(
            conn, task_id, str(path))
    return is_linked_worktree(path) and registered_worktrees(ctx.repo_root).get(
        path.resolve()) == branch


def disown_if_foreign(
    ctx: RepoContext, conn: Db, task_id: str, branch: str, worktree: str
) -> str | None:
    """When the folder the task's record names is there but not its workspace
    (`owns_workspace`), have the record say the task has none, and return a note saying
    the folder was left as it is; else None."""
    path = Path(worktree)
    if not path.exists() or owns_workspace(ctx, conn, task_id, branch, path):
        return None
    with transaction(conn):
        mark_worktree_removed(conn, task_id)
        append_event(conn, kind="worktree_disowned", task_id=task_id, data={"path": worktree})
    return f"worktree {worktree} left as it is: it is not a workspace of this task"


def remove_workspace(ctx: RepoContext, task_id: str, path: Path) -> bool:
    """Delete a workspace whose work the caller saved; True when it is gone.

    A clone takes the task's private copies of its agent's state folders with it.
    """
    if is_clone(path):
        gone = remove_clone(path, state=ctx.worker_dir / "homes" / task_id)
        if gone:
            forget_workspace(ctx.common_dir, task_id, path)
    else:
        gone = remove_worktree(ctx.repo_root, path)
    if gone:
        clear_half_made(path)
    if gone and path.parent.name.endswith(".worktrees"):
        # The default folder beside the repo (workspace.py) goes with its last workspace.
        with contextlib.suppress(OSError):
            path.parent.rmdir()
    return gone
