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

# (from, to) pairs. Review and merge transitions (changes_requested, approved, needs_human,
# merging, merged) belong to a later issue and are added here as rows, not as code.
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
        (IR, C),
        # Containment: a change outside the task's worktree stops the task for a person.
        (R, NH),
        (NI, NH),
        (S, NH),
        (IR, NH),
        (NH, C),
    }
)

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
