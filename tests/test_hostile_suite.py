"""Hostile-input suite: generated locks, npx locks, manifests and front matter, every command.

The property, for each input and command: the exit code is 0, 1 or 2; no traceback; every
process started is git with a subcommand and options ai-skills itself uses (a `git` first on
PATH records each call); no command named in the input ran (it would create CANARY); and
nothing was written outside the folders ai-skills owns. Bounded so the suite stays well
under a minute in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile_harness import (
    Outcome,
    build_template,
    copy_world,
    git_call_problem,
    run_command,
    snapshot,
    world_env,
    written_outside,
)
from tests.source_repos import url_of

# {canary}: a file only a command named in the input would create; {outside}: a folder
# nothing may write to.
ATOMS = [
    "--upload-pack=touch {canary};", "--upload-pack=touch {canary}",
    "-oProxyCommand=touch {canary}", "--config=core.sshCommand=touch {canary}",
    "$(touch {canary})", "`touch {canary}`", "; touch {canary}", "ext::sh -c touch% {canary}",
    "ssh://-oProxyCommand=touch%20{canary}/x", "git@-oProxyCommand=x:y", "https://-x/y",
    "file://{outside}", "{outside}", "{outside}/alpha", "../../outside", "../alpha", "..", ".",
    "", "-", "--", "/", "a\nb", "alpha\nhq", "alpha\n", " alpha", "a\x00b", "\x1b[31mred",
    "\udcff", "alpha", "beta", "main", "HEAD", "refs/heads/main", "@{-1}", "a..b", "x" * 5000,
    "\u00e9", "\uff41lpha", "skills/alpha", "skills/alpha/SKILL.md", "skills/../../x",
]
# A handful per kind keeps CI under a minute; AI_SKILLS_HOSTILE_EXAMPLES=500 searches harder.
EXAMPLES = int(os.environ.get("AI_SKILLS_HOSTILE_EXAMPLES", "12"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])

hostile = st.one_of(
    st.sampled_from(ATOMS),
    st.text(max_size=20),
    st.tuples(st.sampled_from(ATOMS), st.sampled_from(ATOMS)).map("".join),
)


def nested(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


json_value = st.one_of(hostile, st.integers(), st.none(), st.booleans(),
                       st.lists(hostile, max_size=3), st.sampled_from([nested(50), {"a": {}}]))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("hostile-template"))


@contextlib.contextmanager
def fresh_world(template: Path, base: Path) -> Iterator[Path]:
    """A copy of the template world for one example, removed after it."""
    folder = Path(tempfile.mkdtemp(dir=base, prefix="world-"))
    try:
        yield copy_world(template, folder / "w")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fill(text: str, world: Path) -> str:
    return text.replace("{canary}", str(world / "CANARY")).replace(
        "{outside}", str(world / "outside"))


def fill_json(value: object, world: Path) -> object:
    if isinstance(value, str):
        return fill(value, world)
    if isinstance(value, list):
        return [fill_json(v, world) for v in value]
    if isinstance(value, dict):
        return {fill(str(k), world): fill_json(v, world) for k, v in value.items()}
    return value


def check_all(world: Path, commands: list[list[str]]) -> None:
    """Run each command against the world and check the property."""
    before = snapshot(world)
    with world_env(world):
        for program, *args in commands:
            outcome = run_command(world, program, *args)
            check_outcome(world, outcome)
    assert written_outside(before, snapshot(world)) == []


def check_outcome(world: Path, outcome: Outcome) -> None:
    shown = f"{' '.join(outcome.argv)!r}: {outcome.stderr[-2000:]}"
    assert outcome.code in (0, 1, 2), shown
    assert "Traceback" not in outcome.stderr + outcome.stdout, shown
    for call in outcome.git_calls:
        assert git_call_problem(call) is None, (call, shown)
    assert not (world / "CANARY").exists(), f"a command named in the input ran: {shown}"


def template_entry(template: Path) -> dict[str, object]:
    entry = json.loads((template / "repo/ai-skills.lock.json").read_text())["skills"]["alpha"]
    return dict(entry)


LOCK_FIELDS = ["source", "commit", "path", "hash", "ref", "agents"]


@SETTINGS
@given(
    version=st.sampled_from([1, 1, 1, "1", 2, None, 1.0]),
    names=st.lists(st.one_of(st.just("alpha"), hostile), min_size=1, max_size=2),
    changes=st.dictionaries(st.sampled_from(LOCK_FIELDS), json_value, max_size=2),
    raw=st.one_of(st.none(), st.sampled_from(["[" * 5000, "{", "\udcff", "null", "[]"])),
)
def test_hostile_lock(template: Path, tmp_path: Path, version: object,
                      names: list[str], changes: dict[str, object], raw: str | None) -> None:
    with fresh_world(template, tmp_path) as world:
        entry = template_entry(template) | changes
        lock = {"version": version, "skills": dict.fromkeys(names, entry)}
        text = raw if raw is not None else json.dumps(fill_json(lock, world))
        (world / "repo/ai-skills.lock.json").write_bytes(text.encode("utf-8", "surrogateescape"))
        source = url_of(template / "source")
        check_all(world, [["ai-skills", "install"], ["ai-skills", "update"],
                          ["ai-skills", "check"], ["ai-skills", "remove", "alpha"],
                          ["ai-skills", "list"],
                          ["ai-skills", "add", source, "-s", "beta", "--yes"]])


@SETTINGS
@given(
    version=st.sampled_from([1, 3, "1"]),
    name=st.one_of(st.just("beta"), hostile),
    source_type=st.sampled_from(["git", "local", "github", "well-known", None]),
    changes=st.dictionaries(st.sampled_from(["source", "sourceUrl", "skillPath", "ref"]),
                            json_value, max_size=2),
)
def test_hostile_npx_lock(template: Path, tmp_path: Path, version: object,
                          name: str, source_type: str | None, changes: dict[str, object]) -> None:
    with fresh_world(template, tmp_path) as world:
        source = url_of(template / "source")
        entry = {"source": source, "sourceUrl": source, "sourceType": source_type,
                 "skillPath": "skills/beta/SKILL.md"} | changes
        lock = {"version": version, "skills": {name: entry}}
        (world / "repo/skills-lock.json").write_text(json.dumps(fill_json(lock, world)))
        check_all(world, [["ai-skills", "import-npx", "--yes"], ["ai-skills", "list"]])


@SETTINGS
@given(lines=st.lists(st.one_of(st.sampled_from(["alpha", "beta", "# note"]), hostile),
                      max_size=4))
def test_hostile_manifest(template: Path, tmp_path: Path,
                          lines: list[str]) -> None:
    with fresh_world(template, tmp_path) as world:
        text = "\n".join(fill(line, world) for line in lines).encode("utf-8", "surrogateescape")
        (world / "repo/.skills").write_bytes(text)
        user_skills = world / "home/.config/ai-skills/skills"
        user_skills.parent.mkdir(parents=True, exist_ok=True)
        user_skills.write_bytes(text)
        check_all(world, [["use-skills"], ["ai-skills", "install"],
                          ["ai-skills", "deploy", "--global"]])


FRONT_LINES = [
    "name: alpha", "name: {name}", "description: Fine.", "description: &a x", "license: *a",
    "metadata: " + "[" * 40 + "]" * 40, "metadata: {a: {b: {c: [1, 2]}}}", "name: [a, b]",
    "description: " + "d" * 70_000, "allowed-tools: !!python/object:os.system x",
    "description: |\n  text\n  more", "? complex\n: key", "%YAML 1.1", "---",
]


@SETTINGS
@given(
    lines=st.lists(st.one_of(st.sampled_from(FRONT_LINES),
                             hostile.map(lambda v: f"description: {v}"),
                             hostile.map(lambda v: f"{v}: x")), max_size=5),
    closed=st.booleans(),
)
def test_hostile_front_matter(template: Path, tmp_path: Path,
                              lines: list[str], closed: bool) -> None:
    with fresh_world(template, tmp_path) as world:
        front = "\n".join(lines).replace("{name}", "alpha")
        text = "---\n" + front + ("\n---\n" if closed else "\n")
        data = (text + "# body\n").encode("utf-8", "surrogateescape")
        folder = world / "catalog/alpha"
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_bytes(data)
        source = world / "outside/source"
        shutil.copytree(template / "source", source, symlinks=True)
        (source / "skills/beta/SKILL.md").write_bytes(data.replace(b"alpha", b"beta"))
        subprocess.run(["git", "commit", "-qam", "hostile"], cwd=source, check=True)
        (world / "repo/.skills").write_text("alpha\n")
        check_all(world, [["ai-skills", "validate", str(folder)], ["ai-skills", "list"],
                          ["use-skills"], ["ai-skills", "add", url_of(source), "-s", "beta",
                                           "--yes"]])


def test_the_harness_sees_git_calls_options_and_stray_writes(template: Path,
                                                             tmp_path: Path) -> None:
    with fresh_world(template, tmp_path) as world:
        before = snapshot(world)
        with world_env(world):
            outcome = run_command(world, "ai-skills", "check")
        assert outcome.code == 0, outcome.stderr
        assert [call[call.index("ls-remote"):][:2] for call in outcome.git_calls] == [
            ["ls-remote", "--end-of-options"]]
        # Operands count only after --end-of-options: before it, git could read them as options.
        assert git_call_problem(["fetch", "--upload-pack=touch x", "origin"]) == (
            "unexpected options ['--upload-pack=touch x', 'origin']")
        assert git_call_problem(["-c", "core.sshCommand=x", "fetch"]) == (
            "unexpected config ['core.sshCommand=x']")
        assert git_call_problem(["clone", "x"]) == "unexpected subcommand ['clone']"
        (world / "outside/stray").write_text("x")
        (world / "repo/.claude/skills/alpha").unlink()
        assert written_outside(before, snapshot(world)) == ["outside/stray"]
