"""Containment: did an attempt change anything outside its own worktree?

The supervisor takes a snapshot before the agent starts (every other checkout's HEAD,
`git status` and the content of its dirty files; the shared refs; the store's bookkeeping)
and compares after the agent exits. Whatever differs is a finding, unless worker itself
explains it: another task that ran (or was acted on) during the attempt may change its own
worktree and branch, and a merge moves the integration branch.

Not a sandbox: an agent with a shell can still write anywhere its user can. This makes such
writes visible and stops the task at `needs_human` instead of letting it go to review.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_skills.errors import AiSkillsError
from ai_skills.util.git import run_git
from ai_skills.util.results import JsonResult
from ai_skills.worker.run.rate_limit_fallback import record_outcome
from ai_skills.worker.run.store_outage import store_errors
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store import attempts as attempt_rows
from ai_skills.worker.store import events as event_rows
from ai_skills.worker.store import tasks as task_rows
from ai_skills.worker.tasks import Attempt, get_task, record_event, transition

_MAX_HASHED = 500
# Leaving these states is the task's own business (done, cancelled...); a finding wins over
# the rest.
_STOPPABLE = frozenset(
    {TaskState.RUNNING, TaskState.NEEDS_INPUT, TaskState.STALLED, TaskState.IN_REVIEW}
)
_MERGE_STATES = ("merging", "merged")


@dataclass(frozen=True)
class Breach(JsonResult):
    """One change outside the task's worktree."""

    kind: str  # main_checkout, worktree, ref, store
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.where}: {self.detail}"


def _porcelain(checkout: Path) -> dict[str, str]:
    # No optional locks: a plain status refreshes the index of the checkout it looks at,
    # taking index.lock in another task's clone, and that task's agent's `git add` fails.
    proc = run_git(
        ["--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        cwd=checkout,
        check=False,
    )
    if proc.returncode != 0:
        return {}
    entries: dict[str, str] = {}
    parts = proc.stdout.split("\0")
    i = 0
    while i < len(parts):
        item = parts[i]
        i += 1
        if len(item) < 4:
            continue
        code, path = item[:2], item[3:]
        if code[0] in "RC":
            i += 1  # the rename's source path follows as its own entry
        entries[path] = code
    return entries


def _digest(path: Path) -> str:
    try:
        if path.is_symlink():
            return "link:" + str(path.readlink())
        if path.is_dir():
            return "dir"
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def checkout_state(checkout: Path) -> dict[str, Any]:
    """HEAD, dirty paths and the content hash of each dirty path of one checkout."""
    if not checkout.exists():
        return {"head": None, "status": {}, "hashes": {}}
    head = run_git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=checkout, check=False)
    status = _porcelain(checkout)
    hashes = {p: _digest(checkout / p) for p in sorted(status)[:_MAX_HASHED]}
    return {"head": head.stdout.strip() or None, "status": status, "hashes": hashes}


def _worktrees(repo: Path) -> list[Path]:
    proc = run_git(["worktree", "list", "--porcelain"], cwd=repo, check=False)
    return [
        Path(line.removeprefix("worktree ")).resolve()
        for line in proc.stdout.splitlines()
        if line.startswith("worktree ")
    ]


def _refs(repo: Path) -> dict[str, str]:
    proc = run_git(
        ["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"],
        cwd=repo,
        check=False,
    )
    pairs = (line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    return {name: sha for name, sha in pairs}


def store_problems(conn: Db) -> list[str]:
    """Bookkeeping that only a direct write to the store can break (each one a sentence)."""
    problems: list[str] = []
    with conn.snapshot():  # one consistent read for all the queries below
        check = conn.integrity_problem()
        if check is not None:
            problems.append(f"store integrity check failed: {check}")
        for task_id, state, logged in event_rows.logged_states(conn):
            if state != (logged or TaskState.QUEUED.value):
                problems.append(
                    f"task {task_id!r} is {state} but the event log last moved it to "
                    f"{logged or 'queued'} (changed without worker)"
                )
        count = event_rows.event_count(conn)
        issued = conn.issued_keys("events")
        if count < issued:
            problems.append(f"{issued - count} event(s) were deleted from the log")
    return problems


def _task_clones(conn: Db) -> list[Path]:
    """Other tasks' workspaces that are clones (not listed by `git worktree list`)."""
    found = [Path(path).resolve() for _, path in task_rows.task_worktrees(conn, present_only=True)]
    return [p for p in found if (p / ".git").is_dir()]


def take_snapshot(conn: Db, attempt: Attempt, repo: Path) -> dict[str, Any]:
    """Everything outside `attempt`'s worktree that it must leave alone, as data."""
    own = Path(attempt.worktree).resolve()
    places = sorted(set(_worktrees(repo)) | set(_task_clones(conn)))
    return {
        "checkouts": {str(p): checkout_state(p) for p in places if p != own},
        "refs": _refs(repo),
        "store": store_problems(conn),
        "main": str(repo.resolve()),
    }


def save_snapshot(conn: Db, attempt: Attempt, repo: Path) -> None:
    """Take and store the attempt's snapshot (once: a restarted supervisor keeps the first)."""
    data = take_snapshot(conn, attempt, repo)
    with transaction(conn):
        attempt_rows.save_snapshot(
            conn, attempt.id, taken_at=time.time(), data=json.dumps(data, sort_keys=True)
        )


def _others_in_window(
    conn: Db, attempt: Attempt, start: float, end: float
) -> tuple[set[str], set[str], bool]:
    """Worktrees and branches worker itself may have changed meanwhile; whether a merge ran."""
    besides = attempt.task_id
    ids = attempt_rows.tasks_running_between(conn, start, end, besides=besides)
    ids |= event_rows.tasks_with_events_between(conn, start, end, besides=besides)
    paths: set[str] = set()
    refs: set[str] = set()
    for task_id in filter(None, ids):
        for path in attempt_rows.attempt_worktrees(conn, task_id):
            paths.add(str(Path(path).resolve()))
        row = task_rows.task_row(conn, task_id)
        if row is not None:
            refs.add(f"refs/heads/{row['branch']}")
    merged = event_rows.entered_state_between(conn, start, end, _MERGE_STATES)
    return paths, refs, merged


def compare(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    skip_paths: set[str],
    skip_refs: set[str],
    merged: bool,
) -> list[Breach]:
    """The differences between two snapshots that nobody but the agent explains."""
    breaches: list[Breach] = []
    main = before.get("main", "")
    old, new = before["checkouts"], after["checkouts"]
    for path in sorted(set(old) | set(new)):
        if path in skip_paths:
            continue
        kind = "main_checkout" if path == main else "worktree"
        breaches += _checkout_breaches(kind, path, old.get(path), new.get(path), merged=merged)
    breaches += _ref_breaches(before["refs"], after["refs"], skip_refs, merged=merged)
    for problem in after["store"]:
        if problem not in before["store"]:
            breaches.append(Breach("store", "worker.db", problem))
    return breaches


def _checkout_breaches(
    kind: str, path: str, old: dict[str, Any] | None, new: dict[str, Any] | None, *, merged: bool
) -> list[Breach]:
    if old is None:
        return [Breach(kind, path, "a new worktree was added")]
    if new is None:
        return [Breach(kind, path, "the worktree was removed")]
    found: list[Breach] = []
    if old["head"] != new["head"] and not (merged and kind == "main_checkout"):
        found.append(Breach(kind, path, f"HEAD moved from {old['head']} to {new['head']}"))
    changed = sorted(
        p
        for p in set(old["status"]) | set(new["status"])
        if old["status"].get(p) != new["status"].get(p)
        or old["hashes"].get(p) != new["hashes"].get(p)
    )
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        found.append(Breach(kind, path, f"{len(changed)} file(s) changed: {shown}"))
    return found


def _ref_breaches(
    old: dict[str, str], new: dict[str, str], skip: set[str], *, merged: bool
) -> list[Breach]:
    found: list[Breach] = []
    for ref in sorted(set(old) | set(new)):
        if ref in skip or old.get(ref) == new.get(ref):
            continue
        if merged and ref.startswith("refs/heads/") and ref in old and ref in new:
            continue  # a merge moves the integration branch
        if ref not in new:
            found.append(Breach("ref", ref, f"deleted (was {old[ref][:12]})"))
        elif ref not in old:
            found.append(Breach("ref", ref, f"created at {new[ref][:12]}"))
        else:
            found.append(Breach("ref", ref, f"moved from {old[ref][:12]} to {new[ref][:12]}"))
    return found


def check_attempt(conn: Db, attempt: Attempt, repo: Path) -> list[Breach]:
    """Compare the world with the attempt's snapshot ([] when no snapshot was taken)."""
    row = attempt_rows.snapshot_row(conn, attempt.id)
    if row is None:
        return []
    before = json.loads(row["data"])
    after = take_snapshot(conn, attempt, repo)
    end = time.time()
    paths, refs, merged = _others_in_window(conn, attempt, float(row["taken_at"]), end)
    own_branch = f"refs/heads/{attempt.branch}"
    return compare(before, after, skip_paths=paths, skip_refs=refs | {own_branch}, merged=merged)


def record_breaches(
    conn: Db, attempt: Attempt, breaches: list[Breach], *, mode: str
) -> None:
    """One `containment` event per finding; with mode needs_human, stop the task there."""
    if not breaches or mode == "off":
        return
    with transaction(conn):
        for breach in breaches:
            append_event(
                conn,
                kind="containment",
                task_id=attempt.task_id,
                attempt_id=attempt.id,
                data={**breach.as_dict(), "reason": str(breach)},
            )
        task = get_task(conn, attempt.task_id)
        if mode != "needs_human" or task.current_attempt != attempt.id:
            return
        if task.state not in _STOPPABLE:
            return
        summary = "; ".join(str(b) for b in breaches[:3])
        more = f" (+{len(breaches) - 3} more)" if len(breaches) > 3 else ""
        record_outcome(conn, attempt.id, "containment", f"{summary}{more}")
        transition(
            conn,
            task,
            TaskState.NEEDS_HUMAN,
            action="containment",
            reason=f"changed outside its worktree: {summary}{more}",
            attempt_id=attempt.id,
            data={"findings": [b.as_dict() for b in breaches]},
        )


def _step_failures() -> tuple[type[Exception], ...]:
    """What a containment step survives: our errors, the file system's, bad data."""
    return (AiSkillsError, OSError, ValueError)


def before_agent(conn: Db, attempt: Attempt, repo: Path, *, mode: str) -> None:
    """The supervisor's snapshot step; a failure is recorded and never keeps the agent off.

    A store that is away is not a failure of the step: its error goes up, and the supervisor
    waits for the store and takes the snapshot then (store_outage.py), rather than run the
    attempt without one.
    """
    if mode == "off":
        return
    try:
        save_snapshot(conn, attempt, repo)
    except store_errors():
        raise
    except _step_failures() as exc:
        _skipped(conn, attempt, f"no snapshot: {exc}")


def after_agent(conn: Db, attempt: Attempt, repo: Path, *, mode: str) -> None:
    """The supervisor's comparison step, after the agent exited (store errors go up, as in
    `before_agent`)."""
    if mode == "off":
        return
    try:
        breaches = check_attempt(conn, attempt, repo)
    except store_errors():
        raise
    except _step_failures() as exc:
        _skipped(conn, attempt, f"cannot compare: {exc}")
        return
    record_breaches(conn, attempt, breaches, mode=mode)


def _skipped(conn: Db, attempt: Attempt, why: str) -> None:
    record_event(
        conn,
        kind="containment_skipped",
        task_id=attempt.task_id,
        attempt_id=attempt.id,
        data={"reason": why},
    )
