"""Task states and the transition table (data, so later issues can add review and merge)."""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is in its life; the values are the names users and scripts see."""

    QUEUED = "queued"
    RUNNING = "running"
    NEEDS_INPUT = "needs_input"
    STALLED = "stalled"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    NEEDS_HUMAN = "needs_human"
    MERGING = "merging"
    MERGED = "merged"
    CANCELLED = "cancelled"
    FAILED = "failed"


Q, R, NI, S, IR = (
    TaskState.QUEUED,
    TaskState.RUNNING,
    TaskState.NEEDS_INPUT,
    TaskState.STALLED,
    TaskState.IN_REVIEW,
)
C, F = TaskState.CANCELLED, TaskState.FAILED
CR, A, NH, M, MD = (
    TaskState.CHANGES_REQUESTED,
    TaskState.APPROVED,
    TaskState.NEEDS_HUMAN,
    TaskState.MERGING,
    TaskState.MERGED,
)

# (from, to) pairs.
TRANSITIONS: frozenset[tuple[TaskState, TaskState]] = frozenset(
    {
        (Q, R),
        (Q, C),
        (Q, F),
        (R, NI),
        (R, S),
        (R, IR),
        (R, C),
        (R, F),
        # A rate-limited or crashed-before-work run goes back to the queue.
        (R, Q),
        (NI, R),
        (NI, S),
        (NI, IR),
        (NI, C),
        (NI, F),
        # A stalled task may be restarted (new attempt), or its agent may speak up again.
        (S, R),
        (S, NI),
        (S, IR),
        (S, Q),
        (S, C),
        (S, F),
        # `worker retry`: a person decides to try a failed task again (never automatic).
        (F, Q),
        (IR, C),
        # Review: gates and policy decide whether a reviewer or a human must approve.
        (IR, A),
        (IR, CR),
        (IR, NH),
        # An agent reporting `blocked`, or a change outside its worktree (containment),
        # needs a human. A blocked agent may still finish (`done`), but `working` is
        # refused: it would take a WIP slot without admission.
        (R, NH),
        (NI, NH),
        (S, NH),
        (NH, IR),
        (NH, A),
        (NH, CR),
        (NH, C),
        # Changes requested: a new attempt in the same worktree, with the feedback.
        (CR, R),
        (CR, NH),
        (CR, C),
        # A commit after approval voids it; a conflict with a newer integration branch
        # sends the task back.
        (A, IR),
        (A, CR),
        (A, M),
        (A, C),
        # Merge: done, sent back (conflict, failing gates), or given up (approval void, the
        # integration checkout was not clean).
        (M, MD),
        (M, CR),
        (M, A),
        (M, IR),
    }
)

# Final for the automatic machinery; `failed` may still be retried by hand (retry.py).
TERMINAL: frozenset[TaskState] = frozenset(
    {TaskState.MERGED, TaskState.CANCELLED, TaskState.FAILED}
)

# States whose current attempt holds a WIP slot (its agent may still be alive).
ACTIVE: frozenset[TaskState] = frozenset({TaskState.RUNNING, TaskState.NEEDS_INPUT})


def can_transition(current: TaskState, target: TaskState) -> bool:
    """True when the table allows moving from `current` to `target`."""
    return (current, target) in TRANSITIONS


def allowed_targets(current: TaskState) -> list[TaskState]:
    """The states reachable from `current` in one step, in declaration order."""
    return [t for t in TaskState if (current, t) in TRANSITIONS]
