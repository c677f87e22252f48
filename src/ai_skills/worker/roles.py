"""Who may run which `worker` command: one table and one check, run before any command.

A worker agent has a shell in its worktree, so nothing but this check stands between a
prompt it read and `worker merge`. The CLI entry point calls `check_command` with the raw
arguments before typer parses them, so a command is classified (and refused) by name even
on a build that does not have it yet, and before any of its own logic runs.

Roles:
  read    always allowed, from anywhere
  report  `worker report`: a worker about its own task and attempt only
  decide  changes or decides about work: refused inside a worker; with
          `require_write_opt_in = true`, a script (no terminal) must also set
          WORKER_ALLOW_WRITES=1
A command missing from the table is treated as `decide`.

Inside a worker means any of: WORKER_TASK_ID / WORKER_ATTEMPT_ID set, the current directory
in a task's worktree, or a task's running agent among this process's ancestors (so unsetting
the variables and changing directory is not enough).
"""

from __future__ import annotations

import os
import sys

from ai_skills.worker.errors import EXIT_CONFLICT, WorkerError

# Every `worker report` runs this check before anything else: typing, pathlib, enum and
# dataclasses (with inspect) each cost more to import than the check itself.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

ALLOW_WRITES_VARIABLE = "WORKER_ALLOW_WRITES"


class Role:
    """What running a command means for the work (plain strings: no `enum` on this path)."""

    READ = "read"
    REPORT = "report"
    DECIDE = "decide"


class Rule:
    """A command's role, and the flags that change it.

    `decide_with`: flags that turn a read into a decision (`reconcile --fix`).
    `read_with_only`: a deciding command that only reads when it has no flag but these
    (`review ID` shows the review; any other flag, known or future, decides).
    """

    __slots__ = ("role", "decide_with", "read_with_only")

    def __init__(
        self,
        role: str,
        decide_with: tuple[str, ...] = (),
        read_with_only: tuple[str, ...] | None = None,
    ) -> None:
        self.role = role
        self.decide_with = decide_with
        self.read_with_only = read_with_only


R, D = Role.READ, Role.DECIDE

# Keyed by the command as typed ("daemon start" for subcommands). Review and merge commands
# are listed by name so they are covered on every build, with or without them.
COMMAND_RULES: Mapping[str, Rule] = {
    "status": Rule(R),
    "logs": Rule(R),
    "watch": Rule(R),
    "reconcile": Rule(R, decide_with=("--fix",)),
    "daemon status": Rule(R),
    "conflicts": Rule(R),
    "stats": Rule(R),
    "profiles": Rule(R),
    "hosts": Rule(R),
    "doctor": Rule(R),
    "report": Rule(Role.REPORT),
    "add": Rule(D),
    "start": Rule(D),
    "retry": Rule(D),
    "cancel": Rule(D),
    "tick": Rule(D),
    "daemon start": Rule(D),
    "daemon stop": Rule(D),
    "daemon": Rule(D),
    "gate": Rule(D),
    "review": Rule(D, read_with_only=("--json",)),
    "approve": Rule(D),
    "merge": Rule(D),
}

WHO_DECIDES = (
    "only the supervisor may run it: a person, or the supervising agent, from the main "
    "checkout and outside any worker's environment"
)


class RoleRefusedError(WorkerError):
    """A command run by someone whose role does not allow it."""

    exit_code = EXIT_CONFLICT

    def __init__(self, *, command: str, why: str, remedy: str) -> None:
        super().__init__(f"`worker {command}` refused: {why}; {remedy}")
        self.command = command


class Identity:
    """The worker a process acts for, and how we know."""

    __slots__ = ("task_id", "attempt_id", "source")

    def __init__(self, task_id: str, attempt_id: int | None, source: str) -> None:
        self.task_id = task_id
        self.attempt_id = attempt_id
        self.source = source  # environment, worktree, process

    def describe(self) -> str:
        """`task 't1' (attempt id 3), seen from ...` for messages."""
        attempt = f" (attempt id {self.attempt_id})" if self.attempt_id is not None else ""
        evidence = {
            "environment": "WORKER_TASK_ID/WORKER_ATTEMPT_ID are set",
            "worktree": "the current directory is in its worktree",
            "process": "it runs under that task's agent",
        }[self.source]
        return f"this process acts for task {self.task_id!r}{attempt}: {evidence}"


def command_of(args: Sequence[str]) -> tuple[str, list[str]]:
    """The command as typed (`daemon start`) and the arguments after it."""
    words = list(args)
    positions = [i for i, word in enumerate(words) if not word.startswith("-")]
    if not positions:
        return "", words
    first = positions[0]
    name = words[first]
    rest = words[first + 1 :]
    if name == "daemon" and rest and not rest[0].startswith("-"):
        return f"daemon {rest[0]}", rest[1:]
    return name, rest


def role_of(command: str, rest: Sequence[str]) -> str:
    """The role a command with these arguments needs (unknown commands decide)."""
    rule = COMMAND_RULES.get(command)
    if rule is None:
        return Role.DECIDE
    if any(_has_flag(rest, flag) for flag in rule.decide_with):
        return Role.DECIDE
    if rule.read_with_only is not None:
        flags = [a.split("=", 1)[0] for a in rest if a.startswith("-")]
        if all(flag in rule.read_with_only for flag in flags):
            return Role.READ
    return rule.role


def _has_flag(args: Sequence[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in args)


def option_value(args: Sequence[str], *names: str) -> str | None:
    """The value of `--name V` or `--name=V` (the last one wins), else None."""
    value: str | None = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(name + "="):
                value = arg.split("=", 1)[1]
    return value


def check_command(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
) -> str:
    """Raise RoleRefusedError when the caller may not run this command; return its role."""
    command, rest = command_of(args)
    if not command or _has_flag(rest, "--help"):
        return Role.READ
    role = role_of(command, rest)
    if role == Role.READ:
        return role
    env = os.environ if environ is None else environ
    identity = worker_identity(cwd, env)
    if role == Role.REPORT:
        if identity is not None:
            _check_own_report(command, rest, identity)
        return role
    if identity is not None:
        raise RoleRefusedError(
            command=command,
            why=f"it decides about work and {identity.describe()}",
            remedy=f"{WHO_DECIDES}. A worker tells the supervisor with "
            "`worker report --status done|blocked|needs-input --message ...`",
        )
    tty = sys.stdin.isatty() if interactive is None else interactive
    if not tty and env.get(ALLOW_WRITES_VARIABLE) != "1" and _opt_in_required(_folder(cwd)):
        raise RoleRefusedError(
            command=command,
            why="it changes state, no terminal is attached and .worker.toml sets "
            "require_write_opt_in = true",
            remedy=f"a supervisor's script opts in with {ALLOW_WRITES_VARIABLE}=1",
        )
    return role


def _check_own_report(command: str, rest: Sequence[str], identity: Identity) -> None:
    task = option_value(rest, "--task")
    if task is not None and task != identity.task_id:
        raise RoleRefusedError(
            command=command,
            why=f"a worker may report only on its own task, and {identity.describe()}",
            remedy="drop --task (the task comes from WORKER_TASK_ID)",
        )
    attempt = option_value(rest, "--attempt")
    if (
        attempt is not None
        and identity.attempt_id is not None
        and attempt != str(identity.attempt_id)
    ):
        raise RoleRefusedError(
            command=command,
            why=f"a worker may report only on its own current attempt, and {identity.describe()}",
            remedy="drop --attempt (it comes from WORKER_ATTEMPT_ID)",
        )


def worker_identity(cwd: Path | None, environ: Mapping[str, str]) -> Identity | None:
    """The worker this process acts for (from `cwd`, default the current folder), or None
    when it is not inside a worker."""
    task = environ.get("WORKER_TASK_ID")
    attempt = environ.get("WORKER_ATTEMPT_ID")
    if task or attempt:
        number = int(attempt) if attempt and attempt.isdigit() else None
        return Identity(task or "?", number, "environment")
    return _store_identity(_folder(cwd))


def _folder(cwd: Path | None) -> Path:
    from pathlib import Path

    return Path.cwd() if cwd is None else cwd


def _store_identity(cwd: Path) -> Identity | None:
    """A worker found from the store: by worktree, or by a running agent among our ancestors."""
    from pathlib import Path

    from ai_skills.util.git import find_worktree_root
    from ai_skills.worker.context import find_repo
    from ai_skills.worker.process_identity import is_alive
    from ai_skills.worker.store import open_store, store_exists
    from ai_skills.worker.store.attempts import attempts_with_agents
    from ai_skills.worker.store.tasks import task_worktrees

    try:
        ctx = find_repo(cwd)
    except WorkerError:
        return None
    if not store_exists(ctx):
        return None
    conn = open_store(ctx, peek=True)
    try:
        root = find_worktree_root(cwd.resolve())
        if root is not None and root.resolve() != ctx.repo_root.resolve():
            for task_id, worktree in task_worktrees(conn):
                if Path(worktree).resolve() == root.resolve():
                    return Identity(task_id, None, "worktree")
        ancestors = {os.getpid(), *ancestor_pids()}
        for row in attempts_with_agents(conn, running_only=True):
            pid, token = row["agent_pid"], row["agent_token"]
            if pid in ancestors and is_alive(pid, token):
                return Identity(row["task_id"], row["id"], "process")
    finally:
        conn.close()
    return None


def ancestor_pids(pid: int | None = None) -> list[int]:
    """This process's parent, grandparent, ... up to (not including) init; [] without /proc."""
    from ai_skills.worker.process_identity import stat_fields

    found: list[int] = []
    current = os.getpid() if pid is None else pid
    while current > 1 and len(found) < 256:
        fields = stat_fields(current)
        if fields is None:
            break
        parent = int(fields[1])
        if parent <= 1:
            break
        found.append(parent)
        current = parent
    return found


def _opt_in_required(cwd: Path) -> bool:
    from ai_skills.worker.config import load_config
    from ai_skills.worker.context import find_repo

    try:
        ctx = find_repo(cwd)
    except WorkerError:
        return False
    return load_config(ctx.config_path).require_write_opt_in
