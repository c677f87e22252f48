"""Skill links go into the task's workspace only, whatever its agent left there."""

from __future__ import annotations

import os
from pathlib import Path

from worker_helpers import git

from ai_skills.worker.run.workspace import link_skills


def _workspace(tmp_path: Path) -> Path:
    """A clone-like folder naming a bundled skill in `.skills`, as an agent could leave it."""
    ws = tmp_path / "ws"
    ws.mkdir()
    git(ws, "init", "-q")
    (ws / ".skills").write_text("review-gate\n")
    return ws


def test_an_agent_folder_linked_outside_the_workspace_gets_no_skill_links(
    worker_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"  # the user's ~/.claude, or the main checkout's
    outside.mkdir()
    ws = _workspace(tmp_path)
    (ws / ".claude").symlink_to(outside)
    links = link_skills(worker_repo, ws, dict(os.environ))
    assert list(outside.iterdir()) == []
    assert any(".claude" in p and "outside" in p for p in links.problems), links.problems


def test_a_git_folder_linked_outside_the_workspace_is_not_written(
    worker_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "other-info"
    outside.mkdir()
    ws = _workspace(tmp_path)
    info = ws / ".git" / "info"
    for entry in info.iterdir():
        entry.unlink()
    info.rmdir()
    info.symlink_to(outside)
    links = link_skills(worker_repo, ws, dict(os.environ))
    assert list(outside.iterdir()) == []
    assert any(".git/info" in p for p in links.problems), links.problems


def test_a_plain_workspace_still_gets_its_links(worker_repo: Path, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    links = link_skills(worker_repo, ws, dict(os.environ))
    assert links.problems == []
    assert (ws / ".claude" / "skills" / "review-gate" / "SKILL.md").is_file()
