"""Gate commands from `[gates]`: run in a checkout at an exact commit, results bound to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ai_skills.util.git import git_env
from ai_skills.worker.config import GatesConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ReviewRefusedError
from ai_skills.worker.run.sandbox import existing_paths, tool_argv
from ai_skills.worker.run.workspace import sync_branch
from ai_skills.worker.run.workspace_git import tools_sandboxed, workspace_dirty, workspace_head
from ai_skills.worker.run.worktrees import branch_sha
from ai_skills.worker.states import ACTIVE, TERMINAL
from ai_skills.worker.store import Db, append_event, transaction
from ai_skills.worker.store.reviews import gate_result_rows, insert_gate_result
from ai_skills.worker.tasks import Task, get_task

# Gates run for a review of the task branch, or on the merged result before a merge.
REVIEW, MERGE = "review", "merge"
_KILL_GRACE = 2.0

# Wraps each gate run; the CLI shows a progress line when one takes a while.
Progress = Callable[[str], AbstractContextManager[object]]


def quiet(_: str) -> AbstractContextManager[object]:
    """No progress output (the default for the core API)."""
    return nullcontext()


@dataclass(frozen=True)
class GateResult:
    """One gate command's outcome on one commit."""

    gate: str
    sha: str
    purpose: str
    command: str
    exit_code: int | None
    timed_out: bool
    duration: float
    log_file: str

    @property
    def passed(self) -> bool:
        """Exit code 0 within the timeout."""
        return self.exit_code == 0 and not self.timed_out

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return {**asdict(self), "passed": self.passed}


@dataclass(frozen=True)
class GateVerdict:
    """Whether every configured gate passed on a commit, and if not, why."""

    sha: str
    passed: bool
    problem: str
    results: list[GateResult]

    def as_dict(self) -> dict[str, object]:
        """This result as plain JSON-ready data."""
        return {
            "sha": self.sha,
            "passed": self.passed,
            "problem": self.problem,
            "results": [r.as_dict() for r in self.results],
        }


def gate_argv(command: str | list[str]) -> list[str]:
    """A string runs through the shell (gates are often pipelines); a list is an argv."""
    return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)


def run_gate(
    name: str,
    command: str | list[str],
    *,
    checkout: Path,
    log_file: Path,
    timeout: float,
    sandbox: GateSandbox | None = None,
) -> tuple[int | None, bool, float]:
    """Run one gate in its own process group; (exit code, timed out, seconds).

    A gate runs code the agent wrote (its tests, its build files): with a `sandbox` it runs
    in one that can write the checkout (and the configured `sandbox_writable` folders) and
    nothing else, so that code cannot approve or merge anything.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    argv = gate_argv(command)
    if sandbox is not None:
        argv = tool_argv(checkout, argv, readonly=sandbox.readonly, writable=True, network=True,
                         shared=sandbox.shared)
    with open(log_file, "wb") as log:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=checkout,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=git_env({"WORKER_GATE": name}),
                start_new_session=True,
            )
        except OSError as exc:
            log.write(f"worker: cannot run gate {name!r}: {exc}\n".encode())
            return 127, False, time.monotonic() - started
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            log.write(f"\nworker: gate {name!r} stopped after {timeout:g}s (timeout)\n".encode())
            return proc.returncode, True, time.monotonic() - started
    return code, False, time.monotonic() - started


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # The gate may have started children (a test runner's workers); stop the whole group.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=_KILL_GRACE)
            break
        except subprocess.TimeoutExpired:
            continue
    # Reap the leader even when the group vanished between the signals.
    try:
        proc.wait(timeout=_KILL_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_gates(
    ctx: RepoContext,
    conn: Db,
    task_id: str,
    gates: GatesConfig,
    *,
    checkout: Path,
    sha: str,
    purpose: str,
    progress: Progress = quiet,
) -> GateVerdict:
    """Run every configured gate in `checkout` (which must be at `sha`); record each result."""
    results = []
    for name, command in gates.commands.items():
        started_at = time.time()
        # Milliseconds: a gate re-run at once must not overwrite the log of the first run.
        stamp = int(started_at * 1000)
        log = ctx.worker_dir / "gates" / task_id / f"{sha[:12]}-{purpose}-{name}-{stamp}.log"
        with progress(f"gate {name} on {sha[:12]} ({purpose})"):
            code, timed_out, seconds = run_gate(
                name, command, checkout=checkout, log_file=log, timeout=gates.timeout_seconds,
                sandbox=gate_sandbox(ctx),
            )
        text = command if isinstance(command, str) else json.dumps(command)
        result = GateResult(name, sha, purpose, text, code, timed_out, round(seconds, 3), str(log))
        _record(conn, task_id, result, started_at=started_at)
        results.append(result)
    return verdict(gates, results, sha=sha)


def _record(
    conn: Db, task_id: str, result: GateResult, *, started_at: float
) -> None:
    with transaction(conn):
        insert_gate_result(
            conn,
            task_id=task_id,
            sha=result.sha,
            purpose=result.purpose,
            gate=result.gate,
            command=result.command,
            exit_code=result.exit_code,
            timed_out=int(result.timed_out),
            duration=result.duration,
            log_file=result.log_file,
            started_at=started_at,
        )
        append_event(
            conn,
            kind="gate",
            task_id=task_id,
            data={
                "gate": result.gate,
                "sha": result.sha,
                "purpose": result.purpose,
                "exit_code": result.exit_code,
                "timed_out": result.timed_out,
                "passed": result.passed,
                "duration": result.duration,
                "log_file": result.log_file,
            },
        )


def latest_results(
    conn: Db, task_id: str, sha: str, *, purpose: str = REVIEW
) -> list[GateResult]:
    """The newest result of each gate that ran on `sha`, in the order they first ran."""
    rows = gate_result_rows(conn, task_id, sha, purpose)
    newest: dict[str, GateResult] = {}
    for r in rows:
        newest[r["gate"]] = GateResult(
            r["gate"],
            r["sha"],
            r["purpose"],
            r["command"],
            r["exit_code"],
            bool(r["timed_out"]),
            r["duration"],
            r["log_file"],
        )
    return list(newest.values())


def verdict(gates: GatesConfig, results: list[GateResult], *, sha: str) -> GateVerdict:
    """Passed only when every configured gate has a passing result on `sha`."""
    by_name = {r.gate: r for r in results}
    missing = [name for name in gates.commands if name not in by_name]
    failed = [r for r in results if r.gate in gates.commands and not r.passed]
    problem = ""
    if failed:
        problem = "gates failed on {}: {}".format(
            sha[:12],
            ", ".join(
                f"{r.gate} ({'timeout' if r.timed_out else f'exit {r.exit_code}'})" for r in failed
            ),
        )
    elif missing:
        problem = f"gates never ran on {sha[:12]}: {', '.join(missing)}"
    return GateVerdict(sha, not problem, problem, results)


def review_checkout(
    ctx: RepoContext, task: Task, *, remote: str | None = None
) -> tuple[Path, str]:
    """The task's worktree and head SHA, when gates can run there bound to that SHA."""
    if task.state in ACTIVE:
        raise ReviewRefusedError(
            task_id=task.id, detail=f"is {task.state.value}; its agent may still commit"
        )
    if task.state in TERMINAL or not task.worktree or task.worktree_removed:
        raise ReviewRefusedError(
            task_id=task.id, detail=f"is {task.state.value} and has no worktree"
        )
    checkout = Path(task.worktree)
    sync_branch(ctx, task, remote=remote)
    tip = branch_sha(ctx.repo_root, task.branch)
    if tip is None or not checkout.exists():
        raise ReviewRefusedError(
            task_id=task.id, detail=f"branch {task.branch} or worktree {checkout} is missing"
        )
    if workspace_head(ctx, checkout) != tip:
        raise ReviewRefusedError(
            task_id=task.id, detail=f"worktree {checkout} is not at the head of {task.branch}"
        )
    dirty = workspace_dirty(ctx, checkout)
    if dirty:
        raise ReviewRefusedError(
            task_id=task.id,
            detail=f"worktree {checkout} has {len(dirty)} uncommitted change(s); gates run on "
            "commits only: commit them (a new head to review) or discard them",
        )
    return checkout, tip


def gate_task(
    ctx: RepoContext,
    conn: Db,
    gates: GatesConfig,
    task_id: str,
    *,
    progress: Progress = quiet,
    remote: str | None = None,
) -> GateVerdict:
    """Run the gates in a task's worktree at its head SHA (`worker gate ID`).

    With `remote` (several hosts), the branch is fetched from there first; a task whose
    workspace is on another host has its gates run in a temporary worktree at that head.
    """
    task = get_task(conn, task_id)
    if remote and task.state not in (*ACTIVE, *TERMINAL) and _workspace_elsewhere(task):
        from ai_skills.worker.review.merge_checkout import temporary_worktree

        sync_branch(ctx, task, remote=remote)
        sha = branch_sha(ctx.repo_root, task.branch)
        if sha is None:
            raise ReviewRefusedError(
                task_id=task_id, detail=f"branch {task.branch} is neither here nor on {remote}"
            )
        with temporary_worktree(ctx, task_id, sha) as checkout:
            return run_gates(ctx, conn, task_id, gates, checkout=checkout, sha=sha,
                             purpose=REVIEW, progress=progress)
    checkout, sha = review_checkout(ctx, task, remote=remote)
    result = run_gates(
        ctx, conn, task_id, gates, checkout=checkout, sha=sha, purpose=REVIEW, progress=progress
    )
    now = workspace_head(ctx, checkout)
    if now != sha or workspace_dirty(ctx, checkout, tracked_only=True):
        # Someone committed or edited while the gates ran: they tested a moving target.
        # (Untracked files a gate writes, caches and reports, do not count.)
        moved = f"worktree {checkout} changed while the gates ran (head {str(now)[:12]})"
        return replace(result, passed=False, problem=f"{moved}; run `worker gate {task_id}` again")
    return result


def _workspace_elsewhere(task: Task) -> bool:
    """True when the task's workspace is not on this host (it ran on another one)."""
    return not task.worktree or task.worktree_removed or not Path(task.worktree).exists()


@dataclass(frozen=True)
class GateSandbox:
    """What a sandboxed gate may read beyond the disk it sees, and write beyond its checkout."""

    readonly: list[Path]
    shared: list[Path]


def gate_sandbox(ctx: RepoContext) -> GateSandbox | None:
    """The gates' sandbox: as the agents' setting says (`sandbox`, `sandbox_writable`)."""
    from ai_skills.worker.config import load_config

    config = load_config(ctx.config_path)
    if config.sandbox == "none" or not tools_sandboxed():
        return None
    home = os.environ.get("HOME", "")
    readonly = [ctx.common_dir, *([Path(home)] if home else [])]
    return GateSandbox(readonly, existing_paths(config.sandbox_writable, os.environ))
