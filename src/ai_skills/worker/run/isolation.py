"""The supervisor's side of one attempt's isolation: the agent's argv (sandboxed or not), its
report channel, fetching its branch back, and the trap's findings after it exits."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import WorkerError
from ai_skills.worker.run import attribution, clones, containment
from ai_skills.worker.run.profiles import AttemptRuntime
from ai_skills.worker.run.report_socket import ReportServer
from ai_skills.worker.run.sandbox import (
    Layout,
    agent_argv,
    env_inside,
    existing_paths,
    prepare_state,
    readonly_inside,
    runtime_of,
    state_paths,
)
from ai_skills.worker.store import Db, open_store
from ai_skills.worker.tasks import Attempt

# A clone is fetched when its refs change, and at least this often (its mtimes are the
# agent's to set).
_FETCH_EVERY = 30.0


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


def build_layout(ctx: RepoContext, attempt: Attempt, runtime: AttemptRuntime,
                 env: Mapping[str, str]) -> Layout:
    """Every path the attempt's sandbox needs; private state copies are made here (once)."""
    run_dir = _real(Path(attempt.log_file).parent)
    state = state_paths(runtime_of(attempt.command), env, runtime.sandbox_state)
    private: list[tuple[Path, Path]] = []
    for spec, real in state:
        # Named after the real path: two profiles of a task may use two CODEX_HOMEs.
        tag = hashlib.sha256(str(real).encode()).hexdigest()[:8]
        copy = ctx.worker_dir / "homes" / attempt.task_id / f"{real.name.lstrip('.')}-{tag}"
        prepare_state(spec, real, copy)
        private.append((_real(copy), _real(real)))
    readonly = [_real(env["HOME"])] if env.get("HOME") else []
    readonly += [_real(p) for p in env.get("AI_SKILLS_PATH", "").split(os.pathsep) if p]
    # The agent program and its PATH stay visible where the private /tmp would hide them.
    program = shutil.which(attempt.command[0], path=env.get("PATH")) if attempt.command else None
    readonly += [_real(program)] if program else []
    readonly += [_real(p) for p in env.get("PATH", "").split(os.pathsep) if p.startswith("/")]
    objects = _real(ctx.common_dir / "objects")
    readonly.append(objects)
    return Layout(
        workspace=_real(attempt.worktree),
        main=_real(ctx.repo_root),
        common_dir=_real(ctx.common_dir),
        run_dir=run_dir,
        trap=run_dir / "trap",
        state=private,
        readonly=readonly,
        state_readonly=[_real(p) for p in readonly_inside(state)],
        shared=[_real(p) for p in existing_paths(runtime.sandbox_writable, env)],
    )


@dataclass
class AgentLaunch:
    """How the supervisor runs one attempt's agent."""

    argv: list[str]
    env: dict[str, str]
    layout: Layout | None  # None: no sandbox


def plan_launch(ctx: RepoContext, attempt: Attempt, runtime: AttemptRuntime,
                env: Mapping[str, str]) -> AgentLaunch:
    """The agent's argv and extra environment, with its sandbox prepared when it has one."""
    socket = Path(attempt.log_file).parent / "report.sock"
    if runtime.sandbox != "bwrap":
        return AgentLaunch(list(attempt.command), {"WORKER_REPORT_SOCKET": str(socket)}, None)
    layout = build_layout(ctx, attempt, runtime, env)
    attribution.prepare_traps(layout)
    return AgentLaunch(agent_argv(layout, attempt.command), env_inside(), layout)


class CloneWatch:
    """Fetches the attempt's branch back from its clone when the clone's refs moved."""

    def __init__(self, ctx: RepoContext, attempt: Attempt, *, sandboxed: bool) -> None:
        self.ctx = ctx
        self.attempt = attempt
        self.sandboxed = sandboxed
        self._seen: tuple[Any, ...] | None = None
        self._fetched_at = 0.0

    def _fingerprint(self) -> tuple[Any, ...]:
        git = Path(self.attempt.worktree) / ".git"
        marks: list[tuple[int, int, int] | None] = []
        for name in ("", "HEAD", "packed-refs", "logs/HEAD", f"refs/heads/{self.attempt.branch}"):
            try:
                st = os.lstat(git / name if name else git)
                marks.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                marks.append(None)
        return tuple(marks)

    def fetch(self, *, force: bool = False) -> None:
        """Fetch `worker/<ID>` when the clone changed (or `force`); errors are left for later."""
        mark = self._fingerprint()
        now = time.monotonic()
        if not force and mark == self._seen and now - self._fetched_at < _FETCH_EVERY:
            return
        self._seen, self._fetched_at = mark, now
        clones.fetch_back(
            self.ctx.repo_root, self.ctx.common_dir, Path(self.attempt.worktree),
            self.attempt.branch, sandboxed=self.sandboxed,
        )


def report_handler(ctx: RepoContext, attempt: Attempt, watch: CloneWatch) -> Any:
    """The channel's handler: apply a report to this attempt, after fetching its commits."""
    from ai_skills.worker.run.report import report

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        status = str(request.get("status", ""))
        message = str(request.get("message", ""))  # report() bounds it
        key = request.get("key")
        conn = open_store(ctx)
        try:
            # The review must see the commits the agent made before it said `done`.
            watch.fetch(force=True)
            result = report(
                conn,
                task_id=attempt.task_id,
                attempt_id=attempt.id,
                status=status,
                message=message,
                # Keys are per attempt: an agent cannot read another command's result.
                key=f"attempt {attempt.id}: {key}" if key else None,
            )
            return {"result": result.as_dict()}
        except WorkerError as exc:
            return {"error": str(exc), "exit_code": exc.exit_code}
        finally:
            conn.close()

    return handle


def open_channel(ctx: RepoContext, attempt: Attempt, watch: CloneWatch) -> ReportServer:
    """Serve the attempt's report socket (in its run folder)."""
    socket = Path(attempt.log_file).parent / "report.sock"
    return ReportServer(socket, report_handler(ctx, attempt, watch))


def after_agent(conn: Db, attempt: Attempt, launch: AgentLaunch, repo: Path,
                *, mode: str) -> None:
    """Findings of the attempt: its trap (sandboxed) or the snapshots (no sandbox)."""
    if launch.layout is None:
        containment.after_agent(conn, attempt, repo, mode=mode)
        return
    if mode == "off":
        return
    containment.record_breaches(conn, attempt, attribution.trap_findings(launch.layout),
                                mode=mode)
