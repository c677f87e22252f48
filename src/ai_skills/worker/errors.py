"""Worker errors; each exit code is stable and listed in `worker --help`."""

from __future__ import annotations

from ai_skills.errors import AiSkillsError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_WAITING = 5
EXIT_ENVIRONMENT = 6
EXIT_FINDINGS = 7
EXIT_GATES = 8

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_ERROR: "unexpected failure (a git or system command failed; the message names it)",
    EXIT_USAGE: "bad input: invalid task id, missing option, unknown base branch",
    EXIT_NOT_FOUND: "unknown task id (or not inside a git repository)",
    EXIT_CONFLICT: "refused: illegal transition, duplicate id, lost race, stale attempt, role",
    EXIT_WAITING: "start deferred: the task waits for a WIP slot or an overlapping scope",
    EXIT_ENVIRONMENT: "runtime command not found, or .worker.toml invalid",
    EXIT_FINDINGS: "reconcile found problems that are not (or cannot safely be) fixed; "
    "conflicts: some tasks would conflict",
    EXIT_GATES: "a gate failed or timed out; merge sent the task back (conflict or failing gates)",
}


class WorkerError(AiSkillsError):
    """Base of worker errors."""


class NotInRepoError(WorkerError):
    """The current directory is not inside a git repository."""

    exit_code = EXIT_NOT_FOUND

    def __init__(self, *, path: str) -> None:
        super().__init__(f"{path}: not inside a git repository; run worker from a checkout")


class InvalidTaskIdError(WorkerError):
    """A task id with characters we cannot use in a branch or directory name."""

    exit_code = EXIT_USAGE

    def __init__(self, *, task_id: str) -> None:
        super().__init__(
            f"invalid task id {task_id!r}: use letters, digits, '.', '_' and '-', "
            "not starting with '.' or '-', not ending in '.' or '.lock', no '..' "
            "(at most 64 characters; it becomes the branch worker/ID)"
        )


class TaskNotFoundError(WorkerError):
    """No task has this id."""

    exit_code = EXIT_NOT_FOUND

    def __init__(self, *, task_id: str) -> None:
        super().__init__(f"unknown task {task_id!r}; `worker status` lists the tasks")
        self.task_id = task_id


class DuplicateTaskError(WorkerError):
    """`add` with an id that exists."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str, state: str) -> None:
        super().__init__(f"task {task_id!r} already exists (state {state}); pick another id")


class IllegalTransitionError(WorkerError):
    """The state machine refuses the move."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str, current: str, target: str, action: str) -> None:
        hint = ""
        if current == "failed" and action == "start":
            hint = f"; `worker retry {task_id}` runs it again with the failure in its prompt"
        super().__init__(
            f"task {task_id!r} is {current}; cannot {action} (would move it to {target}){hint}"
        )
        self.current = current
        self.target = target


class AgentStillRunningError(WorkerError):
    """A new attempt was asked for while the current attempt's processes still run."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str, attempt: int) -> None:
        super().__init__(
            f"task {task_id!r}: the agent of attempt {attempt} still runs; wait for it to exit "
            f"(`worker status {task_id}`) or stop it with `worker cancel {task_id} --reason ...`"
        )


class OtherHostError(WorkerError):
    """A command would have to signal a process that runs on another host."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str, host: str, attempt: int, action: str) -> None:
        super().__init__(
            f"task {task_id!r}: attempt {attempt} runs on host {host}, whose lease holds; its "
            f"processes are that host's to stop: {action} in host {host}'s clone, or once its "
            "lease has run out (`worker hosts`) here"
        )


class ConcurrentUpdateError(WorkerError):
    """Another process changed the task between our read and our write."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str) -> None:
        super().__init__(
            f"task {task_id!r} was changed by another worker command; re-run to act on "
            "its new state"
        )


class BaseBranchError(WorkerError):
    """The base branch named for a task does not exist."""

    exit_code = EXIT_USAGE

    def __init__(self, *, branch: str, repo: str) -> None:
        super().__init__(
            f"base branch {branch!r} does not exist in {repo}; "
            "create it or pass --base with an existing branch"
        )


class RuntimeNotFoundError(WorkerError):
    """The agent command is not on PATH."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, *, program: str, task_id: str) -> None:
        super().__init__(
            f"task {task_id!r}: runtime command {program!r} not found on PATH; install it "
            "or choose another with --runtime / --runtime-command"
        )


class ConfigError(WorkerError):
    """`.worker.toml` cannot be read."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, *, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")


class StoreUnavailableError(WorkerError):
    """The configured store cannot be opened (no psycopg, no server, another's database)."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, *, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")


class ReportContextError(WorkerError):
    """`worker report` cannot tell which task or attempt it is about."""

    exit_code = EXIT_USAGE

    def __init__(self, *, detail: str) -> None:
        super().__init__(detail)


class NoAttemptError(WorkerError):
    """`worker logs` was asked for an attempt the task does not have."""

    exit_code = EXIT_USAGE

    def __init__(self, *, task_id: str, number: int | None = None) -> None:
        if number is None:
            super().__init__(
                f"task {task_id!r} has no attempt yet; `worker start {task_id}` runs one"
            )
        else:
            super().__init__(
                f"task {task_id!r} has no attempt {number}; `worker status {task_id}` lists them"
            )


class WorktreeError(WorkerError):
    """A worktree cannot be created or removed safely."""

    def __init__(self, *, task_id: str, path: str, detail: str) -> None:
        super().__init__(f"task {task_id!r}: worktree {path}: {detail}")


class ReviewRefusedError(WorkerError):
    """A gate run, approval, change request, merge or retry that may not happen now."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str, detail: str) -> None:
        super().__init__(f"task {task_id!r}: {detail}")
        self.task_id = task_id


class BranchDivergedError(WorkerError):
    """A task's branch here and on the shared remote each have commits the other lacks."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str, detail: str) -> None:
        super().__init__(f"task {task_id!r}: {detail}")
        self.task_id = task_id


class RemoteUnreachableError(WorkerError):
    """The shared remote (`remote` in .worker.toml) did not answer, or refused a fetch."""

    def __init__(self, *, remote: str, detail: str) -> None:
        super().__init__(
            f"remote {remote!r} could not be reached or refused the request ({detail}); check "
            "`git remote -v`, the network and your credentials, then run the command again "
            "(nothing was changed)"
        )


class MergeBusyError(WorkerError):
    """Another merge holds the repository's merge lock."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, task_id: str, holder: str, waited: float) -> None:
        super().__init__(
            f"task {task_id!r}: another merge ({holder or 'unknown task'}) is running"
            f"{f' (waited {waited:.0f}s)' if waited else ''}; run `worker merge {task_id}` "
            "again when it has finished, or pass --wait SECONDS"
        )


class ChannelError(WorkerError):
    """A report sent through the attempt's channel was not applied (the supervisor says why)."""

    def __init__(self, *, detail: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(detail)
        self.exit_code = exit_code
