"""use-skills under concurrency and sudden death: the end state is always right."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import links_under, make_catalog
from tests.test_use_skills import USE_SKILLS, run_use_skills

NAMES = [f"skill-{i:02d}" for i in range(20)]


@pytest.fixture
def big_repo(git_repo: Path, tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """A repo listing 20 skills, with CODEX_HOME in the repo (3 agents, 60 links)."""
    catalog = make_catalog(tmp_path / "catalog", NAMES)
    env = dict(os.environ, AI_SKILLS_PATH=str(catalog), CODEX_HOME=str(git_repo / ".codex"))
    (git_repo / ".skills").write_text("\n".join(NAMES) + "\n")
    return git_repo, env, catalog


def expected_links(repo: Path, catalog: Path, names: list[str]) -> dict[str, str]:
    return {
        f"{folder}/{name}": str(catalog / name)
        for folder in (".claude/skills", ".opencode/skills", ".codex/skills")
        for name in names
    }


@pytest.mark.slow
def test_parallel_runs_on_one_repo_end_correct(big_repo: tuple[Path, dict[str, str], Path]) -> None:
    repo, env, catalog = big_repo
    procs = [
        subprocess.Popen([USE_SKILLS], cwd=repo, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    outputs = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    assert links_under(repo) == expected_links(repo, catalog, NAMES)
    # Each link was made by exactly one of the runs.
    made = [line for out in outputs for line in out.splitlines() if " linked " in line]
    assert len(made) == 60
    assert run_use_skills(repo, env, "--check").returncode == 0


@pytest.mark.slow
def test_runs_killed_at_random_moments_are_healed_by_the_next(
    big_repo: tuple[Path, dict[str, str], Path],
) -> None:
    repo, env, catalog = big_repo
    rng = random.Random(1234)
    manifests = [NAMES, NAMES[:5], NAMES[10:], [], NAMES[::2]]
    killed = 0
    for round_number in range(30):
        names = manifests[round_number % len(manifests)]
        (repo / ".skills").write_text("\n".join(names) + "\n")
        proc = subprocess.Popen([USE_SKILLS], cwd=repo, env=env, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.12))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
    assert killed >= 5, "too few runs were killed mid-way to test healing"
    final = NAMES[3:17]
    (repo / ".skills").write_text("\n".join(final) + "\n")
    result = run_use_skills(repo, env)
    assert result.returncode == 0, result.stderr
    assert links_under(repo) == expected_links(repo, catalog, final)
    leftovers = [p for p in repo.rglob("*ai-skills-tmp*")]
    assert leftovers == []
