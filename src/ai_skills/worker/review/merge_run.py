"""The record of one `worker merge` run, and how a run ends.

`MergeRun` is the merge record (a row of `merges`) that the steps in `merge_steps` and
`merge_cleanup` update; `save_step` checkpoints it, so a crashed merge resumes at the step
after the last one saved; `end_merge` closes it and moves the task out of `merging`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ai_skills.worker.review.gates import Progress, quiet
from ai_skills.worker.review.records import record_change_request
from ai_skills.worker.states import TaskState
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store.merges import finish_merge, save_merge_step
from ai_skills.worker.tasks import get_task, transition


@dataclass
class MergeRun:
    """The merge record of one task (a row of `merges`), updated as steps complete."""

    task_id: str
    strategy: str
    integration: str
    source_sha: str
    started_at: float
    target_sha: str | None = None
    merged_sha: str | None = None
    step: str = "begin"
    outcome: str = ""  # merged | already_merged | conflict | gates_failed | refused | unpushed
    conflicts: list[str] = field(default_factory=list)
    gates: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    progress: Progress = quiet  # not stored: how the caller shows slow steps


class MergeStopped(Exception):
    """A step decided the merge ends here (conflict, failing gates, refusal)."""


REBASE_REFUSAL = (
    "--strategy rebase is only possible when the branch already contains {0} (a fast-forward); "
    "replaying commits onto a newer {0} is not supported: use --strategy merge or squash, or "
    "let the agent rebase the branch (a new head to review)"
)


def save_step(conn: Db, run: MergeRun, step: str, *, done: bool = False) -> None:
    run.step = step
    with transaction(conn):
        save_merge_step(
            conn,
            run.task_id,
            step,
            target_sha=run.target_sha,
            merged_sha=run.merged_sha,
            done_at=time.time() if done else None,
            detail=run.outcome,
        )
        append_event(
            conn,
            kind="merge_step",
            task_id=run.task_id,
            data={"step": step, "target": run.target_sha, "merged": run.merged_sha},
        )


def end_merge(conn: Db, run: MergeRun, target: TaskState, outcome: str, reason: str) -> None:
    """Close the merge record and move the task out of `merging` (one transaction)."""
    run.outcome = outcome
    with transaction(conn):
        task = get_task(conn, run.task_id)
        if target == TaskState.CHANGES_REQUESTED:
            record_change_request(conn, run.task_id, reason, count=False)
        transition(conn, task, target, action="merge", reason=reason, data={"outcome": outcome})
        finish_merge(conn, run.task_id, done_at=time.time(), outcome=outcome)
