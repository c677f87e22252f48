"""A task's workspace as its own clone: made, converted from a linked worktree, fetched back.

A linked worktree keeps its refs and index in the main repository's `.git`, so an agent in
one can move `main` or another task's branch. A clone (`git clone --shared`: objects are
borrowed from the main repository through `objects/info/alternates`, nothing is copied) has
refs of its own; the supervisor fetches `worker/<ID>` back into the main repository.

The clone is the agent's: its config, hooks, attributes, refs and alternates were written by
it. worker never runs git there on its own side: when bubblewrap is available every git
command in a clone (`status`, `add`, `commit`: workspace_git.py, and the `upload-pack` a
fetch starts there) runs in a sandbox (sandbox.tool_argv) that can write that clone at
most. `git fetch` from a local path runs `git-upload-pack` in the remote repository, which
reads that repository's config; git 2.39 runs no command named there
(`uploadpack.packObjectsHook` is honoured only from protected config), but pack-objects,
alternates and includes are read there, and future versions may read more, so it runs
sandboxed and without network. The fetched
objects are checked (`fetch.fsckObjects`) before the main repository keeps them.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
from pathlib import Path

from ai_skills.errors import CommandError
from ai_skills.util.git import run_git
from ai_skills.worker.errors import WorktreeError
from ai_skills.worker.run.sandbox import tool_argv
from ai_skills.worker.run.worktrees import registered_worktrees

_TIMEOUT = 300
IDENTITY_KEYS = ("user.name", "user.email")
# The fetching side: check what comes in, and no housekeeping in the middle of a run.
_FETCH_CONFIG = ["-c", "fetch.fsckObjects=true", "-c", "gc.auto=0", "-c", "maintenance.auto=false"]


def is_clone(path: Path) -> bool:
    """True when `path` is a checkout with a `.git` folder of its own (not a linked worktree)."""
    git = path / ".git"
    return git.is_dir() and not git.is_symlink()


def is_linked_worktree(path: Path) -> bool:
    """True when `path` has a `.git` file (a linked worktree of some repository)."""
    git = path / ".git"
    return git.is_file() and not git.is_symlink()


def workspace_record(common_dir: Path, task_id: str) -> Path:
    """Where the main repository notes the clone worker made for a task: outside every
    clone, so no agent can claim a folder for its task."""
    return common_dir / "worker" / "workspaces" / task_id


def made_here(common_dir: Path, task_id: str, path: Path) -> bool:
    """True when worker made (or adopted) the clone at `path` for this task."""
    try:
        return workspace_record(common_dir, task_id).read_text() == str(path.resolve())
    except OSError:
        return False


def make_clone(
    repo: Path, common_dir: Path, *, task_id: str, path: Path, branch: str, known: bool = False
) -> bool:
    """Have `path` be a clone of `repo` with `branch` (which exists in `repo`) checked out.

    True when made now. An existing clone is left as it is when it is this task's (`known`:
    the store says an earlier attempt worked there, or it was converted or moved here; or
    worker made it: `made_here`): it holds the agent's work. Any other folder there (a clone
    of another repository, or one left from a repository deleted at the same path) is
    refused: the agent would work in it, and a merge would remove it.
    """
    if is_clone(path) and (known or made_here(common_dir, task_id, path)):
        drop_registration(repo, common_dir, path)
        _record_workspace(common_dir, task_id, path)
        return False
    if path.exists() and (is_clone(path) or any(path.iterdir())):
        raise WorktreeError(
            task_id=task_id,
            path=str(path),
            detail="exists and is not a workspace of this task; move it away",
        )
    # A worktree deleted by hand leaves a registration that still holds its branch.
    run_git(["worktree", "prune"], cwd=repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Made aside, then renamed into place (recorded first): a start killed half-way leaves
    # no clone at `path`, which the next start would refuse as somebody else's, only this
    # folder, which it clears away.
    fresh = half_made(path)
    clear_half_made(path)
    run_git(
        ["clone", "-q", "--shared", "--no-tags", "--branch", branch, "--", str(repo), str(fresh)],
        cwd=path.parent,
    )
    _copy_identity(repo, fresh)
    _record_workspace(common_dir, task_id, path)
    os.replace(fresh, path)
    return True


def half_made(path: Path) -> Path:
    """Where `make_clone` builds the clone for `path` before renaming it into place."""
    return path.parent / f".{path.name}.clone-new"


def clear_half_made(path: Path) -> None:
    """Delete what a launch killed while cloning left beside `path` (no agent worked in it)."""
    shutil.rmtree(half_made(path), ignore_errors=True)


def forget_workspace(common_dir: Path, task_id: str, path: Path) -> None:
    """Drop the record of the task's clone at `path` once it is removed: a folder put there
    later is not the task's."""
    if made_here(common_dir, task_id, path):
        workspace_record(common_dir, task_id).unlink(missing_ok=True)


def _record_workspace(common_dir: Path, task_id: str, path: Path) -> None:
    """Note that the clone at `path` is the task's workspace (`made_here`)."""
    from ai_skills.util.fs import atomic_write_text

    record = workspace_record(common_dir, task_id)
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, str(path.resolve()))


def local_identity(repo: Path) -> dict[str, str]:
    """The repository-local `user.name` and `user.email` that are set."""
    found = {}
    for key in IDENTITY_KEYS:
        proc = run_git(["config", "--local", "--get", key], cwd=repo, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            found[key] = proc.stdout.strip()
    return found


def _copy_identity(repo: Path, clone: Path) -> None:
    # A repository-local identity does not travel with a clone; the agent's commits need it.
    # The clone is new here: nothing of the agent's is in its config yet.
    for key, value in local_identity(repo).items():
        run_git(["config", "--local", key, value], cwd=clone)


def convert_worktree(repo: Path, common_dir: Path, *, path: Path, branch: str) -> bool:
    """Turn the linked worktree at `path` into a clone in place; True when it did.

    Every file stays where it is (uncommitted and ignored ones included) and so does the
    index (what was staged stays staged): only `.git` changes from a file pointing into
    the main repository to a folder of its own. A crash half-way is redone by the next start.
    """
    if not is_linked_worktree(path):
        return False
    admin = _admin_dir(path)
    if admin is None or admin.parent != (common_dir / "worktrees").resolve():
        raise WorktreeError(
            task_id=branch.removeprefix("worker/"),
            path=str(path),
            detail="is a linked worktree of another repository; move it away",
        )
    # Only the task's own worktree (worker made them with the task branch checked out): a
    # user's worktree of another branch there would become the agent's, with their files.
    checked_out = registered_worktrees(repo).get(path.resolve())
    if checked_out != branch:
        raise WorktreeError(
            task_id=branch.removeprefix("worker/"),
            path=str(path),
            detail=f"is a worktree of {checked_out or 'a detached HEAD'}, not of {branch}, "
            "so not a workspace of this task; move it away",
        )
    head = run_git(["rev-parse", "--verify", "HEAD"], cwd=path).stdout.strip()
    fresh = path.parent / f".{path.name}.clone-tmp"
    if fresh.exists():
        shutil.rmtree(fresh)
    run_git(["clone", "-q", "--shared", "--no-tags", "--no-checkout", "--", str(repo),
             str(fresh)], cwd=path.parent)
    run_git(["update-ref", f"refs/heads/{branch}", head], cwd=fresh)
    run_git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], cwd=fresh)
    _copy_identity(repo, fresh)
    if (admin / "index").is_file():
        shutil.copyfile(admin / "index", fresh / ".git" / "index")
    else:
        run_git(["read-tree", head], cwd=fresh)
    (path / ".git").unlink()
    os.replace(fresh / ".git", path / ".git")
    fresh.rmdir()
    drop_registration(repo, common_dir, path)
    return True


def _admin_dir(worktree: Path) -> Path | None:
    """The folder a linked worktree's `.git` file points at (`<common>/worktrees/<name>`)."""
    try:
        text = (worktree / ".git").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    return target if target.is_absolute() else (worktree / target).resolve()


def drop_registration(repo: Path, common_dir: Path, path: Path) -> None:
    """Forget a linked-worktree registration of `path` left by a conversion."""
    admin_root = common_dir / "worktrees"
    if not admin_root.is_dir():
        return
    wanted = str((path / ".git").resolve())
    for admin in admin_root.iterdir():
        with contextlib.suppress(OSError):
            if (admin / "gitdir").read_text().strip() == wanted and is_clone(path):
                shutil.rmtree(admin)
    run_git(["worktree", "prune"], cwd=repo)


def fetch_back(
    repo: Path, common_dir: Path, clone: Path, branch: str, *, sandboxed: bool
) -> str | None:
    """Copy the clone's `branch` into the main repository; its commit, or None if it has none.

    The task's branch follows the clone's, also when the agent rewrote it (as it would in
    a linked worktree); no other ref is read.
    """
    if not is_clone(clone):
        return None
    upload = _upload_pack(clone, common_dir, sandboxed=sandboxed)
    refspec = f"+refs/heads/{branch}:refs/heads/{branch}"
    args = [*_FETCH_CONFIG, "fetch", "-q", "--no-tags", "--no-write-fetch-head",
            "--no-recurse-submodules", "--upload-pack", shlex.join(upload), "--",
            str(clone), refspec]
    try:
        proc = run_git(args, cwd=repo, check=False, timeout=_TIMEOUT)
    except CommandError:  # no answer in time
        return None
    if proc.returncode != 0:
        return None
    out = run_git(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=repo,
                  check=False)
    return out.stdout.strip() or None


def clone_branch_head(
    repo: Path, common_dir: Path, clone: Path, branch: str, *, sandboxed: bool
) -> str | None:
    """The commit the clone's `branch` points at, read without changing either repository."""
    if not is_clone(clone):
        return None
    upload = _upload_pack(clone, common_dir, sandboxed=sandboxed)
    ref = f"refs/heads/{branch}"
    args = ["ls-remote", "--upload-pack", shlex.join(upload), "--", str(clone), ref]
    try:
        proc = run_git(args, cwd=repo, check=False, timeout=_TIMEOUT)
    except CommandError:  # no answer in time
        return None
    for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


def _upload_pack(clone: Path, common_dir: Path, *, sandboxed: bool) -> list[str]:
    # upload-pack reads the clone's config, which its agent wrote: see the module docstring.
    upload = ["git", "upload-pack"]
    if sandboxed:
        upload = tool_argv(clone, upload, readonly=[common_dir / "objects"])
    return upload


def remove_clone(path: Path, *, state: Path | None = None) -> bool:
    """Delete a clone whose work the caller saved and fetched; True when it is gone.

    The clone is first renamed aside, so a removal killed half-way never leaves a broken
    clone in its place; the next removal finishes it. `state`: the task's private copies
    of its agent's state folders, which go with it.
    """
    if state is not None:
        shutil.rmtree(state, ignore_errors=True)
    if path.exists():
        os.replace(path, path.parent / f".{path.name}.removing-{os.getpid()}")
    for leftover in path.parent.glob(f".{path.name}.removing-*"):
        # rmtree does not follow the symlinks an agent may have left in its clone.
        shutil.rmtree(leftover, ignore_errors=True)
    return not path.exists()
