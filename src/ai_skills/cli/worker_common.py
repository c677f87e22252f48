"""Pieces every `worker` command module shares: option types and opening the repo's store.

Heavy modules are imported inside the helpers so `worker report` and `worker status` start
fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

if TYPE_CHECKING:
    from ai_skills.worker.config import WorkerConfig
    from ai_skills.worker.context import RepoContext
    from ai_skills.worker.store import Db

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TaskArg = Annotated[str, typer.Argument(metavar="ID", help="Task id.")]
RuntimeOpt = Annotated[
    str | None, typer.Option("--runtime", help="Agent preset: claude, codex or opencode.")
]
RuntimeCommandOpt = Annotated[
    str | None,
    typer.Option("--runtime-command", help="Any agent command (shell-split); prompt on stdin."),
]


def open_repo() -> RepoContext:
    """The repository (and its worker paths) around the current folder."""
    from ai_skills.worker.context import find_repo

    return find_repo(Path.cwd())


def open_store(ctx: RepoContext) -> Db:
    """A connection to the repository's worker store (SQLite, or the configured server)."""
    from ai_skills.worker.store import open_store as open_configured

    return open_configured(ctx)


def check_store(ctx: RepoContext) -> None:
    """Refuse a store that cannot be opened (a bad setting, an unreachable server)."""
    open_store(ctx).close()


def load_worker_config(ctx: RepoContext) -> WorkerConfig:
    """`.worker.toml` of the repository, validated."""
    from ai_skills.worker.config import load_config

    return load_config(ctx.config_path)


class Workspace(NamedTuple):
    """What most commands work on: the repository, its store and its config."""

    ctx: RepoContext
    conn: Db
    config: WorkerConfig


def open_workspace() -> Workspace:
    """The repository around the current folder, its store, then its `.worker.toml`."""
    ctx = open_repo()
    return Workspace(ctx, open_store(ctx), load_worker_config(ctx))
