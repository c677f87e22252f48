"""Plain-text views of worker results for people (the CLI prints them; `--json` skips them)."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # `typing` costs `worker status` milliseconds
if TYPE_CHECKING:  # types only: `worker status` must not import reconcile (and pydantic)
    from collections.abc import Mapping, Sequence

    from ai_skills.worker.ops.reconcile_fix import Finding
    from ai_skills.worker.ops.status import TaskStatus
    from ai_skills.worker.ops.watch import Event
    from ai_skills.worker.run.cancel import CancelResult


def status_lines(rows: Sequence[TaskStatus], *, detailed: bool) -> list[str]:
    """One line per task, plus its reason (and branch and worktree when `detailed`)."""
    if not rows:
        return ["no tasks; `worker add ID --title T` adds one"]
    lines = []
    for r in rows:
        hb = "-" if r.heartbeat_age is None else f"{r.heartbeat_age:.0f}s"
        counts = "" if r.commits_ahead is None else f" +{r.commits_ahead}c/{r.files_changed}f"
        pid = f" pid {r.pid}{'' if r.alive else ' (gone)'}" if r.pid else ""
        profile = f" [{r.profile}]" if r.profile else ""
        host = f" @{r.host}" if r.host else ""
        needs = f" needs {','.join(r.needs)}" if r.needs else ""
        lines.append(
            f"{r.id:<16} {r.state:<12} a{r.attempt or '-'}{profile}{host}{pid} hb {hb}{counts}"
            f"{needs}  {r.title}"
        )
        why = r.waiting_reason or r.reason
        if why:
            lines.append(f"{'':<16} {why}")
        if r.push_problem:
            lines.append(f"{'':<16} {r.push_problem}")
        if detailed:
            lines.append(f"{'':<16} branch {r.branch}  worktree {r.worktree or '-'}")
            lines += [f"{'':<16} {attempt_line(a)}" for a in r.attempts]
    return lines


def cancel_lines(result: CancelResult) -> list[str]:
    """What cancel did, step by step."""
    already = " (already)" if result.already_cancelled else ""
    lines = [f"{result.task_id}: {result.state}{already}; agent {result.agent}"]
    if result.saved_commit:
        lines.append(f"  uncommitted work saved as {result.saved_commit[:12]} on {result.branch}")
    if result.worktree_removed and result.worktree:
        lines.append(f"  worktree {result.worktree} removed")
    branch = f"branch {result.branch} "
    if not any(note.startswith(branch) for note in result.notes):  # a note says it better
        lines.append(f"  {branch}{'kept' if result.branch_kept else 'deleted (merged)'}")
    lines += [f"  {note}" for note in result.notes]
    return lines


def event_line(event: Event) -> str:
    """`seq time task kind [from -> to]  reason` for one event."""
    when = time.strftime("%H:%M:%S", time.localtime(event.at))
    move = f" {event.from_state or '-'} -> {event.to_state}" if event.to_state else ""
    why = event.data.get("reason") or event.data.get("message") or ""
    task = f"{event.task_id} a{event.attempt}" if event.attempt else event.task_id or "-"
    return f"{event.seq:>6} {when} {task} {event.kind}{move}" + (
        f"  {why}" if why else ""
    )


def finding_lines(findings: Sequence[Finding]) -> list[str]:
    """Each reconcile finding, with what `--fix` would do when it is safe."""
    if not findings:
        return ["store, worktrees, branches and processes agree"]
    lines = []
    for f in findings:
        status = "fixed" if f.fixed else ("fixable" if f.fix else "needs you")
        lines.append(f"{f.kind} [{status}] {f.task_id or '-'}: {f.detail}")
        if f.fix and not f.fixed:
            lines.append(f"    --fix would: {f.fix}")
    return lines


def attempt_line(attempt: Mapping[str, object]) -> str:
    """`attempt 2 [profile b]: exit 1, rate_limited (why)` for the detailed status."""
    profile = f" [profile {attempt['profile']}]" if attempt.get("profile") else ""
    code = attempt.get("exit_code")
    ended = "running" if attempt.get("ended_at") is None else "ended"
    ended = ended if code is None else f"exit {code}"
    outcome = f", {attempt['outcome']}" if attempt.get("outcome") else ""
    detail = f" ({attempt['detail']})" if attempt.get("detail") else ""
    return f"attempt {attempt['number']}{profile}: {ended}{outcome}{detail}"
