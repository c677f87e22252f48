"""A SKILL.md cannot make a command expand YAML without bound: anchors, aliases, size, depth.

The bomb nests aliases nine levels deep ("billion laughs"): expanded, it is 9**9 strings.
Each command that reads front matter must refuse it in milliseconds, naming FILE:LINE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ai_skills.skills.front_matter import MAX_FRONT_MATTER_BYTES, front_matter_fields
from ai_skills.skills.validation import validate_skill
from tests.source_repos import commit_all, git, url_of

BIN = Path(sys.executable).parent
# Minutes and gigabytes before the fix; well under a second after (process start included).
DEADLINE = 20


def bomb_text(name: str = "bomb") -> str:
    lines = ["---", f"name: {name}", "description: Looks harmless.", "metadata:",
             '  a0: &a0 "lol"']
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join([*lines, "---", f"# {name}", ""])


def write_bomb(parent: Path, name: str = "bomb") -> Path:
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(bomb_text(name))
    return folder


def run(command: str, *args: str, cwd: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    path = shutil.which(command, path=str(BIN))
    assert path, f"{command} is not installed next to this Python"
    return subprocess.run([path, *args], cwd=cwd, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=DEADLINE,
                          stdin=subprocess.DEVNULL)


def test_validate_skill_refuses_the_bomb_before_building_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Refused from the event stream: the node graph (where aliases expand) is never built.
    import yaml

    def compose(*args: object, **kwargs: object) -> None:
        raise AssertionError("the front matter was composed")

    monkeypatch.setattr(yaml, "compose", compose)
    folder = write_bomb(tmp_path)
    report = validate_skill(folder)
    assert [(p.line, p.message) for p in report.errors] == [
        (5, "front matter uses a YAML anchor ('&a0'); the Agent Skills format needs no "
            "anchors or aliases: write each value out")]


def test_front_matter_fields_of_the_bomb_are_empty() -> None:
    assert front_matter_fields(bomb_text()) == {}


def test_validate_command(tmp_path: Path) -> None:
    folder = write_bomb(tmp_path)
    result = run("ai-skills", "validate", str(folder), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{folder / 'SKILL.md'}:5: error: front matter uses a YAML anchor" in result.stdout


def test_list_command(tmp_path: Path) -> None:
    write_bomb(tmp_path / "catalog")
    env = dict(os.environ, AI_SKILLS_PATH=str(tmp_path / "catalog"))
    result = run("ai-skills", "list", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "bomb  (AI_SKILLS_PATH)  [invalid: run `ai-skills validate`]" in result.stdout


def test_use_skills_command(tmp_path: Path, git_repo: Path) -> None:
    write_bomb(tmp_path / "catalog")
    (git_repo / ".skills").write_text("bomb\n")
    env = dict(os.environ, AI_SKILLS_PATH=str(tmp_path / "catalog"))
    result = run("use-skills", cwd=git_repo, env=env)
    assert result.returncode == 1
    assert "SKILL.md:5: front matter uses a YAML anchor" in result.stderr
    assert not (git_repo / ".claude/skills/bomb").exists()


def test_add_command(tmp_path: Path, git_repo: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    write_bomb(source / "skills")
    commit_all(source)
    result = run("ai-skills", "add", url_of(source), "-s", "bomb", "--yes", cwd=git_repo)
    assert result.returncode == 1
    assert "skills/bomb: bomb/SKILL.md:5: front matter uses a YAML anchor" in result.stderr
    assert not (git_repo / "ai-skills.lock.json").exists()


@pytest.mark.parametrize(
    ("front", "line", "message"),
    [
        ("name: x\ndescription: &d text\n", 3, "a YAML anchor ('&d')"),
        ("name: x\ndescription: a\nlicense: *d\n", 4, "a YAML alias ('*d')"),
        ("name: x\ndescription: a\nmetadata: " + "[" * 100 + "]" * 100 + "\n", 4,
         "front matter nests deeper than 32 levels"),
        ("name: x\ndescription: " + "a" * MAX_FRONT_MATTER_BYTES + "\n", 2,
         f"front matter is {MAX_FRONT_MATTER_BYTES + 22} bytes; at most "
         f"{MAX_FRONT_MATTER_BYTES} (move long text into the body)"),
    ],
    ids=["anchor", "alias", "deep", "huge"],
)
def test_unsafe_front_matter_is_refused_before_expansion(
    tmp_path: Path, front: str, line: int, message: str
) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "SKILL.md").write_text(f"---\n{front}---\n# x\n")
    start = time.perf_counter()
    errors = validate_skill(folder).errors
    assert time.perf_counter() - start < 0.5
    assert [(p.line, message in p.message) for p in errors] == [(line, True)], errors
