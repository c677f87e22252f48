"""A task's workspace before its agent starts: where it lives, what it is, and its skills.

What: its own clone of the repository (clones.py), so the agent cannot reach `main` or any
other branch. A task that still has a linked worktree (from before clones) is converted in
place by its next start, uncommitted files and index included.

Where (checked with the real agents, docs/worker.md "Where the agent works"): not under
`.git/`. Claude Code refuses shell commands whose working folder is inside a `.git` folder
even when Bash is allowed, so the default is a folder beside the main checkout,
`<repo>.worktrees/<ID>`. A task whose worktree is somewhere else (the old default
`.git/worker/worktrees/<ID>`, or an earlier `worktree_dir`) is moved there by its next start.

Skills: the links `use-skills` makes are git-excluded in the main checkout, so a new worktree
has none of them; `link_skills` runs the same engine (`use_skills.sync_repo`) in the worktree.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ai_skills.errors import AiSkillsError
from ai_skills.util.git import run_git
from ai_skills.worker.errors import WorktreeError
from ai_skills.worker.run.clones import convert_worktree, is_clone, make_clone
from ai_skills.worker.run.workspace_git import fill_identity
from ai_skills.worker.run.worktrees import branch_exists, registered_worktrees

if TYPE_CHECKING:
    from ai_skills.worker.config import WorkerConfig
    from ai_skills.worker.context import RepoContext
    from ai_skills.worker.tasks import Task

# Per-repo folders each agent reads (tests/agents/ checks them against the real programs):
# Claude Code `.claude/skills`, OpenCode `.opencode/skills` (it also reads the other two and
# lists a skill found twice once), Codex `.agents/skills`. Codex reads no folder of its own
# in a repo except through CODEX_HOME, and moving CODEX_HOME would hide its config and login.
WORKSPACE_AGENTS = ("claude", "opencode", "agents")


@dataclass(frozen=True)
class SkillLinks:
    """What linking the repo's skills into a workspace did."""

    linked: list[str] = field(default_factory=list)  # link paths made or kept
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, for the `skills_linked` event."""
        return {"linked": self.linked, "problems": self.problems}


def workspace_root(ctx: RepoContext, config: WorkerConfig) -> Path:
    """The folder of task workspaces: `worktree_dir` (relative to the main checkout), else
    `<parent>/<repo>.worktrees`, beside the main checkout and outside every `.git`."""
    if config.worktree_dir:
        return ctx.repo_root / config.worktree_dir  # an absolute setting replaces repo_root
    return ctx.repo_root.parent / f"{ctx.repo_root.name}.worktrees"


def workspace_path(ctx: RepoContext, config: WorkerConfig, task_id: str) -> Path:
    """Where a task's workspace (its clone) lives."""
    return workspace_root(ctx, config) / task_id


def move_worktree_here(repo: Path, *, task_id: str, branch: str, path: Path) -> Path | None:
    """Move the worktree that has `branch` checked out elsewhere to `path`; its old place.

    Uncommitted files move with it (`git worktree move`). None when there is nothing to move.
    """
    path = path.resolve()
    known = registered_worktrees(repo)
    old = next((p for p, b in known.items() if b == branch and p != path), None)
    if old is None or path in known or old == repo.resolve():
        return None
    if path.exists() and any(path.iterdir()):
        raise WorktreeError(
            task_id=task_id,
            path=str(path),
            detail=f"exists, so the worktree at {old} cannot move there; move it away",
        )
    if not old.exists():
        return None  # deleted by hand: `make_clone` prunes it and makes a clone there
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.rmdir()
    run_git(["worktree", "move", str(old), str(path)], cwd=repo)
    return old


@dataclass(frozen=True)
class Prepared:
    """What preparing a task's clone did."""

    created: bool
    converted: bool
    moved_from: Path | None = None
    identity_filled: list[str] = field(default_factory=list)  # keys given to an old clone

    def events(self, path: Path) -> list[tuple[str, dict[str, object]]]:
        """The events that say so (kind, data): a move, a conversion."""
        found: list[tuple[str, dict[str, object]]] = []
        if self.moved_from is not None:
            found.append(("worktree_moved", {"from": str(self.moved_from), "to": str(path)}))
        if self.converted:
            found.append(
                ("workspace_converted",
                 {"path": str(path), "from": "linked worktree", "to": "clone"})
            )
        if self.identity_filled:
            found.append(("identity_filled", {"path": str(path), "keys": self.identity_filled}))
        return found


def prepare_clone(
    ctx: RepoContext, task: Task, path: Path, *, earlier: Path | None = None
) -> Prepared:
    """Have the task's clone at `path`: moved from its `earlier` place (`worktree_dir` or
    the default changed), converted from its linked worktree, or made from its branch
    (created from the base)."""
    unresolved, path = path, path.resolve()
    # A linked worktree (from before clones) moves with `git worktree move`, a clone by rename.
    moved = move_worktree_here(ctx.repo_root, task_id=task.id, branch=task.branch,
                               path=unresolved)
    earlier = earlier.resolve() if earlier is not None else None
    if earlier is not None and earlier != path and is_clone(earlier) and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(earlier), str(path))
        moved = earlier
    if not branch_exists(ctx.repo_root, task.branch):
        run_git(["branch", "--no-track", task.branch, f"refs/heads/{task.base}"],
                cwd=ctx.repo_root)
    converted = convert_worktree(ctx.repo_root, ctx.common_dir, path=path, branch=task.branch)
    # The store knows this task's earlier workspace: a clone there (or moved from there)
    # is its own, as is one converted from its linked worktree.
    known = converted or moved is not None or earlier == path
    created = make_clone(
        ctx.repo_root, ctx.common_dir, task_id=task.id, path=path, branch=task.branch,
        known=known,
    )  # fmt: skip
    filled = [] if created else fill_identity(ctx, path)
    return Prepared(created=created, converted=converted, moved_from=moved,
                    identity_filled=filled)  # fmt: skip


def _escaping_folders(worktree: Path, env: Mapping[str, str]) -> list[str]:
    """Folders `link_skills` would write in that lead outside the workspace.

    The workspace is the agent's: a `.claude` it committed as a symlink to the user's
    `~/.claude`, or a `.git/info` linked into the main repository, would have the links
    and the exclude block written there, by us, outside its sandbox.
    """
    from ai_skills.deploy.agents import repo_skills_dir

    root = worktree.resolve()
    folders: list[tuple[str, Path | None]] = [(".git/info", worktree / ".git" / "info")]
    folders += [(name, repo_skills_dir(name, worktree, env)) for name in WORKSPACE_AGENTS]
    found = []
    for name, folder in folders:
        real = folder.resolve() if folder is not None else root
        if real != root and root not in real.parents:
            found.append(
                f"{name}: {folder} leads outside the workspace (to {real}); no skills were "
                "linked: remove that link from the task's branch"
            )
    return found


def link_skills(repo_root: Path, worktree: Path, env: Mapping[str, str]) -> SkillLinks:
    """Link the skills the worktree's `.skills` names, as `use-skills` does, for every agent.

    Skills installed into the main checkout with `ai-skills add` (git-ignored, so absent
    from the worktree) are found there. Problems are returned, not raised: an agent without
    a skill can still work, and the `skills_linked` event says what went wrong.
    """
    from ai_skills.deploy.use_skills import sync_repo
    from ai_skills.skills.catalog import INSTALLED_REPO_DIR

    if not (worktree / ".skills").is_file():
        return SkillLinks()
    escapes = _escaping_folders(worktree, env)
    if escapes:
        return SkillLinks(problems=escapes)
    installed = str(repo_root / INSTALLED_REPO_DIR)
    search = os.pathsep.join(p for p in (env.get("AI_SKILLS_PATH", ""), installed) if p)
    sync_env = {**env, "AI_SKILLS_PATH": search}
    try:
        report = sync_repo(worktree, sync_env, agents=list(WORKSPACE_AGENTS))
    except AiSkillsError as exc:
        return SkillLinks(problems=[str(exc)])
    wanted = {"create", "replace", "keep", "adopt"}
    linked = sorted(
        str(step.target.relative_to(worktree)) for step in report.steps if step.action in wanted
    )
    return SkillLinks(linked=linked, problems=[*report.errors, *report.warnings])


def sync_branch(ctx: RepoContext, task: Task, *, remote: str | None = None) -> None:
    """Fetch a task's branch from its clone while no agent works there (the supervisor does
    while one does): a commit made there after the agent exited counts, as in a worktree.

    With `remote` (several hosts), then from the shared remote as well: the task may have
    run on another host (remote_branch.py). Raises BranchDivergedError when this host and
    the remote each have commits the other lacks.
    """
    from ai_skills.worker.run.clones import fetch_back
    from ai_skills.worker.run.workspace_git import tools_sandboxed
    from ai_skills.worker.states import TaskState

    if task.state == TaskState.RUNNING:
        return
    path = Path(task.worktree) if task.worktree and not task.worktree_removed else None
    if path is not None and is_clone(path):
        fetch_back(ctx.repo_root, ctx.common_dir, path, task.branch, sandboxed=tools_sandboxed())
    if remote:
        from ai_skills.worker.run.remote_resume import take_up_for_review

        take_up_for_review(ctx, task, remote)
