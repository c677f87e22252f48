"""Task branches and the integration branch on the remote every host shares (`remote`).

With `remote` set in `.worker.toml`, the host that runs a task pushes `worker/<ID>` there
whenever it moves (supervisor.py), a task that starts takes up the branch it finds there
(it may have run on another host), and review and merge fetch it from there and push the
integration branch back. Nothing here ever forces a branch of anyone's: a task branch is
pushed as a fast-forward only, the integration branch with a lease on the commit fetched
just before and only when that commit is in the new one, and a deletion with a lease on
the commit that was merged. What the remote holds is fetched into
`refs/remotes/<remote>/...` (a mirror, the one ref a fetch may force).

The remote's name is checked by the config; every command line is built by
`source_git.git_command` (names and refspecs checked again, after `--end-of-options`), and
a commit the remote names is used only when it looks like one.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_skills.errors import CommandError
from ai_skills.install.git_values import ref_problem
from ai_skills.install.source_git import SAFE_GIT_ENV, git_command, git_timeout
from ai_skills.util.git import run_git
from ai_skills.worker.errors import RemoteUnreachableError
from ai_skills.worker.run.worktrees import branch_sha, is_ancestor
from ai_skills.worker.store import Db
from ai_skills.worker.tasks import Attempt, record_event

SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_ZERO = "0" * 40
# The fetching side checks what comes in: other hosts' agents wrote it.
_FETCH_CONFIG = ("fetch.fsckObjects=true", "gc.auto=0", "maintenance.auto=false")


@dataclass(frozen=True)
class Pushed:
    """What one push did: pushed | up_to_date | rejected | failed | nothing (no branch here)."""

    outcome: str
    local: str | None
    remote: str | None = None  # what the remote holds, when known (a rejection names it)
    detail: str = ""

    @property
    def landed(self) -> bool:
        """True when the remote now holds the local commit."""
        return self.outcome in ("pushed", "up_to_date")


@dataclass(frozen=True)
class Brought:
    """A local branch after taking up the remote's: absent (the remote has none), same,
    created, fast_forwarded, local_ahead or diverged."""

    outcome: str
    local: str | None  # the local branch afterwards
    remote: str | None
    before: str | None = None  # the local branch before


def _git(
    repo: Path, command: str, *options: str, operands: list[tuple[str, str]],
    config: tuple[str, ...] = (), timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    args = git_command(command, *options, operands=operands, config=config)
    limit = git_timeout(os.environ) if timeout is None else min(timeout, git_timeout(os.environ))
    try:
        return run_git(args, cwd=repo, env=SAFE_GIT_ENV, check=False, timeout=limit)
    except CommandError as exc:  # no answer in time
        return subprocess.CompletedProcess(exc.argv, exc.returncode, "", exc.stderr)


def _last_line(text: str) -> str:
    """What git said went wrong: its fatal/error lines (advice after them is no reason)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return " ".join(errors or lines)[:300] or "no output"


def remote_head(
    repo: Path, remote: str, branch: str, *, timeout: float | None = None
) -> str | None:
    """The commit the remote's `branch` points at, or None when it has no such branch.

    Raises RemoteUnreachableError when the remote does not answer.
    """
    ref = f"refs/heads/{branch}"
    proc = _git(repo, "ls-remote", operands=[("remote", remote), ("ref", ref)], timeout=timeout)
    if proc.returncode != 0:
        raise RemoteUnreachableError(remote=remote, detail=_last_line(proc.stderr))
    for line in proc.stdout.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref and SHA.fullmatch(sha):
            return sha
    return None


def remote_heads(repo: Path, remote: str, *, prefix: str = "") -> dict[str, str]:
    """Every branch of the remote whose name starts with `prefix`: name -> commit."""
    proc = _git(repo, "ls-remote", "--heads", operands=[("remote", remote)])
    if proc.returncode != 0:
        raise RemoteUnreachableError(remote=remote, detail=_last_line(proc.stderr))
    found = {}
    for line in proc.stdout.splitlines():
        sha, _, name = line.partition("\t")
        branch = name.removeprefix("refs/heads/")
        # Names come from the remote: kept only as dictionary keys we look ours up in.
        if name.startswith("refs/heads/") and branch.startswith(prefix) and SHA.fullmatch(sha):
            found[branch] = sha
    return found


def tracking_ref(remote: str, branch: str) -> str:
    """Where the remote's `branch` is mirrored here."""
    return f"refs/remotes/{remote}/{branch}"


def fetch_branch(
    repo: Path, remote: str, branch: str, *, timeout: float | None = None
) -> str | None:
    """Fetch the remote's `branch` into its remote-tracking ref; its commit, or None when the
    remote has no such branch. Raises RemoteUnreachableError."""
    sha = remote_head(repo, remote, branch, timeout=timeout)
    if sha is None:
        return None
    spec = f"+refs/heads/{branch}:{tracking_ref(remote, branch)}"
    proc = _git(
        repo, "fetch", "-q", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
        operands=[("remote", remote), ("fetchspec", spec)], config=_FETCH_CONFIG,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RemoteUnreachableError(remote=remote, detail=_last_line(proc.stderr))
    return _rev(repo, tracking_ref(remote, branch))


def _rev(repo: Path, ref: str) -> str | None:
    proc = _git(repo, "rev-parse", "--verify", "--quiet", operands=[("ref", f"{ref}^{{commit}}")])
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and SHA.fullmatch(sha) else None


def _update_ref(repo: Path, branch: str, new: str, old: str | None) -> bool:
    """Move (or create, `old` None) a local branch with a compare-and-swap."""
    operands = [("ref", f"refs/heads/{branch}"), ("ref", new), ("ref", old or _ZERO)]
    message = "-mworker: taken up from the shared remote"  # one argument: options are ours
    return _git(repo, "update-ref", message, operands=operands).returncode == 0


def bring_branch(repo: Path, remote: str, branch: str) -> Brought:
    """Take up the remote's `branch` here when that loses nothing: create the local branch
    from it, or fast-forward the local branch to it. A local branch with commits the remote
    lacks is left as it is (`local_ahead`, or `diverged` when the remote has commits it
    lacks too: the caller refuses). Raises RemoteUnreachableError."""
    theirs = fetch_branch(repo, remote, branch)
    ours = branch_sha(repo, branch)
    if theirs is None:
        return Brought("absent", ours, None, ours)
    if ours == theirs:
        return Brought("same", ours, theirs, ours)
    if ours is None:
        if _update_ref(repo, branch, theirs, None):
            return Brought("created", theirs, theirs, None)
        return bring_branch(repo, remote, branch)  # made meanwhile: judge it again
    if is_ancestor(repo, ours, theirs):
        if _update_ref(repo, branch, theirs, ours):
            return Brought("fast_forwarded", theirs, theirs, ours)
        return bring_branch(repo, remote, branch)
    if is_ancestor(repo, theirs, ours):
        return Brought("local_ahead", ours, theirs, ours)
    return Brought("diverged", ours, theirs, ours)


def diverged_detail(remote: str, branch: str, local: str | None, theirs: str | None,
                    *, here: str = "this repository") -> str:
    """The message for a branch that has commits here and on the remote the other lacks."""
    return (
        f"{branch} in {here} is at {(local or '?')[:12]} and {remote}'s {branch} at "
        f"{(theirs or '?')[:12]}; each has commits the other lacks, and neither is dropped. "
        f"Join them by hand (e.g. merge {tracking_ref(remote, branch)} into {branch} in the "
        f"task's clone, or keep one and save the other as another branch), push "
        f"{branch} to {remote}, then run the command again"
    )


def _porcelain(stdout: str, spec: str) -> tuple[str, str]:
    """The flag and summary `git push --porcelain` printed for `spec` ('' when none).

    A deletion is printed as `:REF` when done and `(delete):REF` when rejected.
    """
    wanted = {spec, spec.replace("(delete):", ":")}
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1] in wanted:
            return parts[0], parts[2]
    return "", ""


def _pushed(repo: Path, remote: str, branch: str, proc: subprocess.CompletedProcess[str],
            spec: str, local: str | None, *, timeout: float | None) -> Pushed:
    flag, summary = _porcelain(proc.stdout, spec)
    if proc.returncode == 0 and flag:
        return Pushed("up_to_date" if flag == "=" else "pushed", local, local, summary)
    if flag == "!":
        try:
            theirs = remote_head(repo, remote, branch, timeout=timeout)
        except RemoteUnreachableError:
            theirs = None
        return Pushed("rejected", local, theirs, summary)
    return Pushed("failed", local, None, _last_line(proc.stderr))


def push_branch(repo: Path, remote: str, branch: str, *, timeout: float | None = None) -> Pushed:
    """Push `branch` to the same branch on the remote: a fast-forward or nothing, never forced.

    `rejected`: the remote's branch has commits this one lacks (another host pushed);
    `failed`: the remote did not answer (try again later). The local branch stays as it is.
    """
    local = branch_sha(repo, branch)
    if local is None:
        return Pushed("nothing", None)
    spec = f"refs/heads/{branch}:refs/heads/{branch}"
    proc = _git(repo, "push", "--porcelain", "--no-verify",
                operands=[("remote", remote), ("refspec", spec)], timeout=timeout)
    return _pushed(repo, remote, branch, proc, spec, local, timeout=timeout)


def push_with_lease(repo: Path, remote: str, branch: str, *, expected: str | None) -> Pushed:
    """Push `branch` over the remote's, which must still be at `expected` (None: must not
    exist) and be part of the local branch: a fast-forward made atomic, never an overwrite."""
    local = branch_sha(repo, branch)
    if local is None:
        return Pushed("nothing", None)
    if expected == local:
        return Pushed("up_to_date", local, expected)
    if expected is not None and not is_ancestor(repo, expected, local):
        return Pushed("rejected", local, expected, f"{remote}'s {branch} has commits {branch} "
                      "lacks")
    return _push_lease(repo, remote, branch, expected, local, delete=False)


def delete_with_lease(repo: Path, remote: str, branch: str, *, expected: str) -> Pushed:
    """Delete the remote's `branch` if it still points at `expected`; else keep it."""
    try:
        theirs = remote_head(repo, remote, branch)
    except RemoteUnreachableError as exc:
        return Pushed("failed", expected, None, str(exc))
    if theirs is None:
        return Pushed("up_to_date", None, None)
    if theirs != expected:
        return Pushed("rejected", expected, theirs, "it moved")
    return _push_lease(repo, remote, branch, expected, None, delete=True)


def _push_lease(repo: Path, remote: str, branch: str, expected: str | None, local: str | None,
                *, delete: bool) -> Pushed:
    ref = f"refs/heads/{branch}"
    if ref_problem(ref) is not None or (expected is not None and not SHA.fullmatch(expected)):
        raise ValueError(f"not a branch and commit: {ref!r} {expected!r}")
    lease = f"--force-with-lease={ref}:{expected or ''}"
    spec = f"{ref}:{ref}"
    if delete:
        proc = _git(repo, "push", "--porcelain", "--no-verify", lease, "--delete",
                    operands=[("remote", remote), ("ref", ref)])
        spec = f"(delete):{ref}"
    else:
        proc = _git(repo, "push", "--porcelain", "--no-verify", lease,
                    operands=[("remote", remote), ("refspec", spec)])
    return _pushed(repo, remote, branch, proc, spec, local, timeout=None)


def unpushed_count(repo: Path, remote: str, branch: str, theirs: str | None) -> int:
    """Commits of the local `branch` the remote's (at `theirs`) lacks; without a remote
    branch, those on no branch of the remote this repository knows of."""
    local = branch_sha(repo, branch)
    if local is None or local == theirs or ref_problem(remote) is not None:
        return 0
    # Commits only (checked): rev-list takes no --end-of-options before `--not`.
    if theirs is not None and SHA.fullmatch(theirs) and _rev(repo, theirs) is not None:
        args = ["rev-list", "--count", local, "--not", theirs]
    else:
        args = ["rev-list", "--count", local, "--not", f"--remotes={remote}"]
    proc = run_git(args, cwd=repo, check=False)
    return int(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else 0


class BranchPusher:
    """The supervisor's side: push the attempt's branch whenever it moved (each beat, and
    after the agent ended). A push that fails is tried again at the next beat; a rejected
    one is recorded once (`push_rejected`, both commits) and tried again when the branch
    moves on. The local branch is never changed here."""

    def __init__(self, repo: Path, remote: str, attempt: Attempt, *, timeout: float) -> None:
        self.repo = repo
        self.remote = remote
        self.attempt = attempt
        self.timeout = timeout
        self._landed: str | None = None
        self._refused: str | None = None  # the local commit the remote last rejected
        self._failed: str | None = None  # the local commit whose push last failed

    def push(self, conn: Db, *, final: bool = False) -> Pushed | None:
        """Push when the branch moved since it last landed (`final`: also a refused one)."""
        local = branch_sha(self.repo, self.attempt.branch)
        if local is None or local == self._landed or (local == self._refused and not final):
            return None
        done = push_branch(self.repo, self.remote, self.attempt.branch, timeout=self.timeout)
        data: dict[str, object] = {
            "remote": self.remote, "branch": self.attempt.branch, "local": local,
            "remote_sha": done.remote, "detail": done.detail,
        }
        if done.landed:
            self._landed, self._refused, self._failed = local, None, None
            self._record(conn, "branch_pushed", data)
        elif done.outcome == "rejected" and local != self._refused:
            self._refused = local
            self._record(conn, "push_rejected", data)
        elif done.outcome == "failed" and local != self._failed:
            self._failed = local  # once per commit: it is tried again every beat
            self._record(conn, "push_failed", data)
        return done

    def _record(self, conn: Db, kind: str, data: dict[str, object]) -> None:
        record_event(conn, kind=kind, task_id=self.attempt.task_id,
                     attempt_id=self.attempt.id, data=data)


def push_problem(data: Mapping[str, Any]) -> str:
    """The status line for a task whose last push was rejected (`push_rejected`'s data)."""
    local, theirs = str(data.get("local") or "?"), str(data.get("remote_sha") or "?")
    remote, branch = data.get("remote", "?"), data.get("branch", "?")
    return (
        f"push to {remote} rejected: its {branch} is at {theirs[:12]}, which this host's "
        f"{local[:12]} does not contain (another host pushed); nothing was forced, the "
        "commits stay here and in the clone (`worker reconcile` names them)"
    )
