"""Pieces every typer `worker` command module shares: option types and opening the store.

Opening the repository and its store lives in `cli.worker_run`, free of typer, because the
fast entry for `report` and `status` (`cli.worker_entry`) opens them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from ai_skills.cli.worker_run import open_repo, open_store

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
