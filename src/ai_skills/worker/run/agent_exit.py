"""What an agent's exit code says: the signal that ended it, and where its task goes."""

from __future__ import annotations

import signal

from ai_skills.worker.states import TaskState


def killed_by(exit_code: int) -> str:
    """The signal that ended the agent (`SIGKILL`), or "" for a normal exit.

    Popen reports a signal as a negative code; a shell between us and the agent reports
    its child's signal as 128 + N.
    """
    number = -exit_code if exit_code < 0 else exit_code - 128 if 128 < exit_code < 160 else 0
    if not number:
        return ""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def exit_verdict(task_id: str, exit_code: int) -> tuple[TaskState, str]:
    """Where a running task goes when its agent exits without reporting done, and why.

    Only an exit code of the agent's own makes it `failed`. A signal (kill -9, the OOM
    killer, a shutdown) says nothing about the work, so the task stalls, resumable.
    """
    name = killed_by(exit_code)
    if name:
        code = f" (exit code {exit_code})" if exit_code > 0 else ""
        return TaskState.STALLED, (
            f"agent killed by signal {name}{code} before reporting done; its commits and "
            f"files are kept: `worker start {task_id}` resumes it"
        )
    if exit_code == 0:
        return TaskState.STALLED, "agent exited with code 0 without reporting done"
    return TaskState.FAILED, (
        f"agent exited with code {exit_code} without reporting done; "
        f"`worker retry {task_id}` runs it again with this failure in its prompt"
    )
