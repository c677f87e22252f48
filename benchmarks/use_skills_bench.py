"""Whole-process timing of `use-skills`, as ratios to bare Python start-up in the same run.

    .venv/bin/python benchmarks/use_skills_bench.py [--runs N]

(a) no-op sync of a repo with 20 skills x 3 agents (what every direnv reload costs);
(b) full first sync of the same repo (links, record, exclude block), the skills already
    known valid from another repo of the user (a new worktree, the usual first sync);
(c) the same first sync with a cold cache: every SKILL.md parsed (YAML imported).
Goals: (a) <= 3x and (b) <= 6x `python3 -c pass`. Prints numbers; never fails on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

NAMES = [f"skill-{i:02d}" for i in range(20)]


def make_fixture(root: Path) -> tuple[Path, dict[str, str]]:
    """A git repo listing 20 skills from a catalog, with CODEX_HOME inside the repo."""
    catalog = root / "catalog"
    for name in NAMES:
        (catalog / name).mkdir(parents=True)
        (catalog / name / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: Benchmark skill {name}.\n---\n# {name}\n"
        )
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".skills").write_text("\n".join(NAMES) + "\n")
    env = dict(os.environ, AI_SKILLS_PATH=str(catalog), CODEX_HOME=str(repo / ".codex"),
               HOME=str(root / "home"))
    env.pop("XDG_CACHE_HOME", None)
    # Measure an installed package as users run it: with cached bytecode.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return repo, env


def reset(repo: Path, *, cold: bool = False) -> None:
    """Back to a never-synced repo; `cold` also forgets the user-wide validation cache."""
    for folder in (".claude", ".opencode", ".codex", ".git/ai-skills"):
        shutil.rmtree(repo / folder, ignore_errors=True)
    (repo / ".git/info/exclude").write_text("")
    if cold:
        shutil.rmtree(repo.parent / "home" / ".cache", ignore_errors=True)


def timed(argv: list[str], cwd: Path, env: dict[str, str], runs: int,
          before: Callable[[], None] | None = None) -> list[float]:
    """Wall-clock milliseconds of `runs` runs of argv (after one warm-up)."""
    samples = []
    for index in range(runs + 1):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, check=True, stderr=subprocess.DEVNULL)
        if index:
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def describe(label: str, samples: list[float], baseline: float) -> str:
    median = statistics.median(samples)
    p90 = sorted(samples)[int(len(samples) * 0.9)]
    return f"{label:<34} median {median:7.1f} ms   p90 {p90:7.1f} ms   {median / baseline:5.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    use_skills = shutil.which("use-skills", path=str(Path(sys.executable).parent))
    if use_skills is None:
        sys.exit("use-skills is not installed next to this Python; run bin/setup-venv")
    with tempfile.TemporaryDirectory() as tmp:
        repo, env = make_fixture(Path(tmp))
        python = sys.executable
        base = timed([python, "-c", "pass"], repo, env, args.runs)
        subprocess.run([use_skills], cwd=repo, env=env, check=True, stderr=subprocess.DEVNULL)
        noop = timed([use_skills], repo, env, args.runs)
        first = timed([use_skills], repo, env, args.runs, before=lambda: reset(repo))
        cold = timed([use_skills], repo, env, args.runs, before=lambda: reset(repo, cold=True))
        baseline = statistics.median(base)
        print(f"use-skills benchmark: 20 skills x 3 agents, {args.runs} runs each, "
              f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(describe("baseline: python -c pass", base, baseline))
        print(describe("(a) no-op sync        (goal <= 3x)", noop, baseline))
        print(describe("(b) first sync        (goal <= 6x)", first, baseline))
        print(describe("(c) first sync, cold cache", cold, baseline))


if __name__ == "__main__":
    main()
