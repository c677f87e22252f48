"""Turning `worker add` input into a NewTask: defaults, validation, reading files."""

from __future__ import annotations

from pathlib import Path

from ai_skills.errors import UsageError
from ai_skills.install.git_values import ref_problem, shown
from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import BaseBranchError
from ai_skills.worker.hosts import check_labels
from ai_skills.worker.run.worktrees import branch_exists, current_branch
from ai_skills.worker.runtimes import build_command, split_command
from ai_skills.worker.tasks import NewTask, validate_task_id

MAX_DESCRIPTION_BYTES = 1024 * 1024


def _read_description(path: Path) -> str:
    from ai_skills.util.textfiles import read_text

    fix = "pass --description-file a UTF-8 text file"
    try:
        return read_text(path, error=UsageError, fix=fix, max_bytes=MAX_DESCRIPTION_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; {fix}") from None


def new_task(
    ctx: RepoContext,
    config: WorkerConfig,
    *,
    task_id: str,
    title: str,
    description: str | None = None,
    description_file: Path | None = None,
    scopes: list[str] | None = None,
    base: str | None = None,
    priority: int = 0,
    runtime: str | None = None,
    runtime_command: str | None = None,
    profile: str | None = None,
    fallback: str | None = None,
    needs: list[str] | None = None,
) -> NewTask:
    """A checked NewTask; the base defaults to the integration branch, else the current one.

    `fallback` is the text of `--fallback` (`A,B`); every profile named must be defined.
    """
    fallbacks = split_names(fallback)
    labels = check_labels(needs, where="--needs")
    check_profile_names(config, [p for p in [profile, *fallbacks] if p])
    if (profile or fallbacks) and (runtime or runtime_command is not None):
        raise UsageError("give --profile/--fallback or --runtime/--runtime-command, not both")
    validate_task_id(task_id)
    if description is not None and description_file is not None:
        raise UsageError("give --description or --description-file, not both")
    if runtime and runtime_command is not None:
        raise UsageError("give --runtime or --runtime-command, not both")
    if description_file is not None:
        description = _read_description(description_file)
    if runtime:
        build_command(runtime=runtime, runtime_command=None)  # an unknown preset fails now
    base = base or config.integration_branch or current_branch(ctx.repo_root) or "main"
    problem = ref_problem(base)
    if problem:
        raise UsageError(f"--base: {shown(base)} is not a branch name ({problem})")
    if not branch_exists(ctx.repo_root, base):
        raise BaseBranchError(branch=base, repo=str(ctx.repo_root))
    return NewTask(
        task_id=task_id,
        title=title,
        base=base,
        description=description or "",
        scopes=list(scopes or []),
        priority=priority,
        runtime=runtime,
        runtime_command=None if runtime_command is None else split_command(runtime_command),
        profile=profile,
        fallback=fallbacks,
        needs=labels,
    )


def check_profile_names(config: WorkerConfig, names: list[str]) -> None:
    """Refuse a profile name `.worker.toml` does not define (UsageError naming the known ones)."""
    for name in names:
        if name not in config.profiles:
            known = ", ".join(config.profiles) or "none; define [profiles.NAME] in .worker.toml"
            raise UsageError(f"unknown profile {name!r} (profiles: {known})")


def split_names(text: str | None) -> list[str]:
    """`A,B` (or `A B`) as a list of names."""
    return [n for n in (text or "").replace(",", " ").split() if n]

