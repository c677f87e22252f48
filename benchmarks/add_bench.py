"""Whole-process timing of `ai-skills add` / `install` against `npx skills`, same run, same repo.

    AI_SKILLS_NODE22_BIN=... AI_SKILLS_SKILLS_CLI=... .venv/bin/python benchmarks/add_bench.py
        [--runs N] [--baseline-src DIR]

(a) add one skill from a local git repo (file:// URL) to three agents (Claude Code,
    OpenCode, Codex) in a fresh project: ours with a cold cache and with a warm one,
    `skills add URL --skill alpha -a claude-code -a codex -a opencode -y` for npx;
(b) a no-op install in a project that already has it: `ai-skills install` against
    `skills experimental_install` (npx's restore from skills-lock.json).
Prints medians of wall-clock time and of CPU time (user + system, of the whole process
tree: git's and node's children included), and the ratios npx / ours (above 1 means we are
faster); every case is timed once per round so a machine that gets busier slows all
alike. On a shared machine the CPU times are the steadier figure. With `--baseline-src DIR` (the
`src` folder of another checkout, e.g. `git archive main src | tar -x -C /tmp/base`) the
cold add is also timed with that code, run by this venv's Python, in the same rounds: a
before/after of one run. Never fails on time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

AI_SKILLS = str(Path(sys.executable).parent / "ai-skills")


def make_source(root: Path) -> Path:
    """A git repo with skills/alpha (SKILL.md, a script, a reference) and skills/beta."""
    for name in ("alpha", "beta"):
        folder = root / "skills" / name
        (folder / "references").mkdir(parents=True)
        (folder / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: Benchmark skill {name}.\n---\n# {name}\n")
        (folder / "references/guide.md").write_text("guide\n" * 200)
        (folder / "run.sh").write_text("#!/bin/sh\necho run\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "skills"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root


def fresh_project(root: Path) -> Path:
    """An empty git repo to install into."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


class Case(NamedTuple):
    """One command of a round: its argv, where (called before each run) and its setup."""

    argv: list[str]
    cwd: Callable[[], Path]
    env: dict[str, str]
    before: Callable[[], None] | None = None


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child and their waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cases: dict[str, Case], runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU milliseconds of `runs` runs of each case (after a warm-up round), one of
    each per round, so a machine that gets busier slows every case alike."""
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
    for index in range(runs + 1):
        for name, case in cases.items():
            if case.before:
                case.before()
            folder = case.cwd()
            cpu = children_cpu()
            start = time.perf_counter()
            subprocess.run(case.argv, cwd=folder, env=case.env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
            if index:
                samples[name][0].append((time.perf_counter() - start) * 1000)
                samples[name][1].append((children_cpu() - cpu) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-src", type=Path, help="src/ folder of the code to compare")
    options = parser.parse_args()
    runs = options.runs
    node_bin = os.environ.get("AI_SKILLS_NODE22_BIN")
    skills_cli = os.environ.get("AI_SKILLS_SKILLS_CLI")
    if not (node_bin and skills_cli):
        sys.exit("set AI_SKILLS_NODE22_BIN and AI_SKILLS_SKILLS_CLI (see .ci/run)")
    with tempfile.TemporaryDirectory(prefix="add-bench-") as tmp:
        base = Path(tmp)
        url = make_source(base / "source").as_uri()
        home = base / "home"
        env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".data"),
                   XDG_STATE_HOME=str(home / ".state"), DISABLE_TELEMETRY="1", DO_NOT_TRACK="1",
                   PATH=f"{node_bin}{os.pathsep}{os.environ['PATH']}", NO_COLOR="1")
        # Measure as installed: byte-code cached (pip writes it; the warm-up run does here).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        ours_env = dict(env, CODEX_HOME=str(base / "ours/.codex"))
        ours_add = [AI_SKILLS, "add", url, "--skill", "alpha", "--agents",
                    "claude,opencode,codex", "--yes"]
        npx_add = [skills_cli, "add", url, "--skill", "alpha", "-a", "claude-code", "-a", "codex",
                   "-a", "opencode", "-y"]
        # npx's restore cannot re-clone a file:// git source (it appends the skill path to
        # the URL), so its no-op project is installed from the same repo as a local path.
        local = fresh_project(base / "npx-local")
        subprocess.run([*npx_add[:2], str(base / "source"), *npx_add[3:]], cwd=local, env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        clear_cache = lambda: shutil.rmtree(home / ".cache", ignore_errors=True)  # noqa: E731
        cases = {
            "cold": Case(ours_add, lambda: fresh_project(base / "ours"), ours_env, clear_cache),
            "warm": Case(ours_add, lambda: fresh_project(base / "ours"), ours_env),
            "npx": Case(npx_add, lambda: fresh_project(base / "npx"), env),
        }
        if options.baseline_src:
            python = str(Path(AI_SKILLS).parent / "python")
            entry = "import sys; from ai_skills.cli.entry import run; sys.exit(run())"
            cases["baseline"] = Case(
                [python, "-c", entry, *ours_add[1:]], lambda: fresh_project(base / "baseline"),
                dict(ours_env, PYTHONPATH=str(options.baseline_src.resolve()),
                     CODEX_HOME=str(base / "baseline/.codex")), clear_cache)
        times = timed(cases, runs)
        noop = timed({
            "ours": Case([AI_SKILLS, "install"], lambda: base / "ours", ours_env),
            "npx": Case([skills_cli, "experimental_install", "-y"], lambda: local, env),
        }, runs)
        for path in ("ours/.claude/skills/alpha", "ours/.opencode/skills/alpha",
                     "ours/.codex/skills/alpha", "npx/.claude/skills/alpha"):
            assert (base / path / "SKILL.md").is_file(), f"benchmark setup broken: {path}"
    for kind, column in (("wall", 0), ("CPU", 1)):
        cold, warm, theirs = (times[name][column] for name in ("cold", "warm", "npx"))
        ours_noop, npx_noop = noop["ours"][column], noop["npx"][column]
        show = statistics.median
        print(f"{kind}: add, 1 skill, 3 agents   ours cold cache {show(cold):7.1f} ms   "
              f"warm {show(warm):7.1f} ms   npx skills {show(theirs):7.1f} ms")
        print(f"  ratio npx/ours: cold {show(theirs) / show(cold):.2f}x, "
              f"warm {show(theirs) / show(warm):.2f}x  (ours/npx: cold "
              f"{show(cold) / show(theirs):.2f}x, warm {show(warm) / show(theirs):.2f}x; "
              "goal <= 0.5x)")
        print(f"{kind}: no-op install            ours {show(ours_noop):7.1f} ms   "
              f"npx skills experimental_install {show(npx_noop):7.1f} ms")
        print(f"  ratio npx/ours: {show(npx_noop) / show(ours_noop):.2f}x")
        if "baseline" in times:
            before = times["baseline"][column]
            print(f"  baseline ({options.baseline_src}) cold {show(before):7.1f} ms: "
                  f"baseline/npx {show(before) / show(theirs):.2f}x, "
                  f"ours/baseline {show(cold) / show(before):.2f}x")


if __name__ == "__main__":
    main()
