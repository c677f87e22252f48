"""The shipped skills: valid everywhere, scripts sound, templates render, the stack works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from skills_ref.validator import validate as reference_validate

from ai_skills.skills.catalog import bundled_skills_dir
from ai_skills.skills.validation import validate_skill
from ai_skills.worker.run.prompt import render_prompt
from tests.conftest import git, require_tool

SKILLS = sorted(p for p in bundled_skills_dir().iterdir() if (p / "SKILL.md").is_file())
SCRIPTS = sorted(p for skill in SKILLS for p in (skill / "scripts").glob("*") if p.is_file())
ORCHESTRATION = bundled_skills_dir() / "worker-orchestration" / "scripts"


def test_the_flagship_skills_are_shipped() -> None:
    assert {"hq", "review-gate", "worker-orchestration"} <= {s.name for s in SKILLS}


@pytest.mark.parametrize("skill", SKILLS, ids=lambda p: p.name)
def test_skill_is_valid_under_the_strictest_rules_and_the_reference(skill: Path) -> None:
    report = validate_skill(skill, strict=True)
    assert report.problems == []
    assert reference_validate(skill) == []


@pytest.mark.parametrize("skill", SKILLS, ids=lambda p: p.name)
def test_every_file_skill_md_mentions_exists(skill: Path) -> None:
    import re

    text = (skill / "SKILL.md").read_text()
    for ref in re.findall(r"`((?:references|templates|scripts)/[\w./-]+)`", text):
        assert (skill / ref.split()[0]).exists(), f"{skill.name}/SKILL.md names missing {ref}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_script_is_sound_and_teaches(script: Path) -> None:
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    shellcheck = require_tool("shellcheck")
    lint = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and helped.stdout.startswith("Usage:")


TASK = {
    "id": "search",
    "title": "Search the catalogue",
    "description": "Goal: full-text search.\n\nAcceptance checks:\n- `pytest tests/search`",
    "scopes": ["src/search/**", "tests/search/**"],
    "base": "main",
    "branch": "worker/search",
    "priority": 2,
}


@pytest.mark.parametrize("feedback", [None, "1. src/search/index.py:40 handles no empty query"])
def test_hq_prompt_template_renders_with_worker(feedback: str | None) -> None:
    context = {"task": TASK, "attempt": 3, "attempt_id": 17, "worker": "/opt/bin/worker",
               "worktree": "/src/repo.worktrees/search", "base_sha": "0123abcd"}
    if feedback:
        context["feedback"] = feedback
    text = render_prompt(context, template_path=bundled_skills_dir() / "hq/templates"
                         / "worker-prompt.md.j2")
    assert "`src/search/**`, `tests/search/**`" in text
    assert "`/opt/bin/worker report --status done" in text
    assert "attempt 3" in text
    assert ("From your supervisor" in text) == bool(feedback)
    assert "{{" not in text and "{%" not in text


def worker_env(tmp_path: Path) -> dict[str, str]:
    """PATH with this venv's worker first."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                TMPDIR=str(tmp_path))


@pytest.mark.slow
def test_smoke_test_runs_a_task_to_in_review(tmp_path: Path) -> None:
    result = subprocess.run([str(ORCHESTRATION / "smoke-test")], env=worker_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: in_review with 1 commit(s) on worker/smoke" in result.stdout
    assert list(tmp_path.glob("worker-smoke.*")) == [], "the throwaway repo is removed"


@pytest.mark.slow
def test_stack_starts_reports_and_stops_cleanly_twice(git_repo: Path, tmp_path: Path) -> None:
    env = worker_env(tmp_path)
    (git_repo / ".worker.toml").write_text('runtime_command = ["true"]\n')

    def stack(verb: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ORCHESTRATION / "stack"), verb], cwd=git_repo, env=env,
                              capture_output=True, text=True, timeout=60)

    for _ in range(2):
        started = stack("start")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "ok    daemon" in started.stdout
        assert stack("status").returncode == 0
        assert stack("stop").returncode == 0
        down = stack("status")
        assert down.returncode == 1 and "FAIL  daemon" in down.stdout


@pytest.mark.slow
def test_watcher_reports_a_task_reaching_in_review(git_repo: Path, tmp_path: Path) -> None:
    env = worker_env(tmp_path)
    agent = bundled_skills_dir() / "worker-orchestration/scripts/stand-in-agent"
    (git_repo / ".worker.toml").write_text(f'runtime_command = ["{agent}"]\n')
    git(git_repo, "add", ".worker.toml")
    git(git_repo, "commit", "-qm", "config")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=git_repo, env=env, capture_output=True, text=True,
                              timeout=60)

    watch = str(ORCHESTRATION / "watch-events")
    assert run("worker", "add", "t1", "--title", "T").returncode == 0
    assert run(watch, "--read").returncode == 0  # acknowledge the 'added' event
    assert run("worker", "start", "t1").returncode == 0
    import time

    deadline = time.monotonic() + 60
    seen: list[dict[str, object]] = []
    while time.monotonic() < deadline and not any(e.get("to_state") == "in_review" for e in seen):
        seen = [json.loads(line) for line in run(watch, "--once").stdout.splitlines()]
        time.sleep(0.2)
    assert any(e["to_state"] == "in_review" and e["task_id"] == "t1" for e in seen)
    assert all(e["kind"] != "added" for e in seen), "acknowledged events are not repeated"
    assert run(watch, "--read").stdout.strip()
    assert run(watch, "--once").stdout == ""
