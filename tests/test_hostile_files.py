"""Broken or hostile files and arguments end in one line and a stable exit code, never a traceback.

Locks, npx locks and manifests arrive in pull requests; worker titles and messages come from
agents. Each case here once gave a traceback (RecursionError, UnicodeDecodeError,
IsADirectoryError), hung, or was silently accepted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ai_skills.worker.errors import ConfigError
from ai_skills.worker.run.prompt import render_prompt
from tests.helpers import make_skill
from tests.source_repos import commit_all, git, make_source, url_of
from tests.test_security_git import installed as installed_fixture
from tests.test_security_git import run

BIN = Path(sys.executable).parent
LOCK = "ai-skills.lock.json"
LOCK_COMMANDS = ["add", "install", "update", "check", "remove", "list"]
installed = installed_fixture  # a repo with alpha installed by `ai-skills add`


def deep(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000)


def huge(path: Path) -> None:
    path.write_text(json.dumps({"version": 1, "skills": {}, "pad": "x" * (17 * 2**20)}))


def not_utf8(path: Path) -> None:
    path.write_bytes(b'{"version": 1, "skills": {"caf\xe9": {}}}')


def folder(path: Path) -> None:
    path.mkdir()


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_loop(path: Path) -> None:
    path.symlink_to(path.name)


def string_version(path: Path) -> None:
    path.write_text('{"version": "1", "skills": {}}')


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "deep": (deep, f"{LOCK}: JSON nested too deeply"),
    "huge": (huge, f"{LOCK}: larger than 16 MiB, too large to be read"),
    "not-utf8": (not_utf8, f"{LOCK}:1: not UTF-8 text (byte 0xe9)"),
    "folder": (folder, f"{LOCK}: is a folder"),
    "fifo": (fifo, f"{LOCK}: is not a regular file"),
    "loop": (symlink_loop, f"{LOCK}: cannot read it (Too many levels of symbolic links)"),
    "string-version": (string_version, f"{LOCK}: version: '1' is not a lock file version "
                                       "(this ai-skills writes the number 1)"),
}


def args_for(command: str, source: Path) -> list[str]:
    return {"add": ["add", url_of(source), "-s", "alpha", "--yes"],
            "remove": ["remove", "alpha"]}.get(command, [command])


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str,
                          codes: tuple[int, ...] = (1,)) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in codes, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr


@pytest.mark.parametrize("command", LOCK_COMMANDS)
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_lock(tmp_path: Path, git_repo: Path, case: str, command: str) -> None:
    source = make_source(tmp_path / "source", ["alpha"])
    make, message = BROKEN[case]
    make(git_repo / LOCK)
    result = run(git_repo, *args_for(command, source))
    assert_one_line_error(result, message)
    assert not (git_repo / ".skills").exists()


@pytest.mark.parametrize("case", ["deep", "not-utf8", "folder", "fifo"])
def test_broken_npx_lock(git_repo: Path, case: str) -> None:
    make, message = BROKEN[case]
    make(git_repo / "skills-lock.json")
    for command in ("import-npx", "list"):
        result = run(git_repo, command, "--yes") if command == "import-npx" else run(
            git_repo, command)
        assert_one_line_error(result, message.replace(LOCK, "skills-lock.json"))


@pytest.mark.parametrize("case", ["not-utf8", "folder", "fifo"])
def test_broken_manifest_for_use_skills(git_repo: Path, case: str) -> None:
    make, message = BROKEN[case]
    make(git_repo / ".skills")
    result = subprocess.run([str(BIN / "use-skills")], cwd=git_repo, capture_output=True,
                            text=True, timeout=60)
    assert_one_line_error(result, message.replace(LOCK, ".skills"))


@pytest.mark.parametrize("case", ["not-utf8", "folder", "fifo"])
def test_broken_user_skills_file_for_deploy(case: str) -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "ai-skills/skills"
    path.parent.mkdir(parents=True)
    make, message = BROKEN[case]
    make(path)
    result = subprocess.run([str(BIN / "ai-skills"), "deploy", "--global"], capture_output=True,
                            text=True, timeout=60)
    assert_one_line_error(result, message.replace(LOCK, "ai-skills/skills"))


def test_huge_skill_md_is_refused_unread(tmp_path: Path) -> None:
    folder = make_skill(tmp_path, "big")
    with open(folder / "SKILL.md", "ab") as handle:
        handle.truncate(17 * 2**20)
    result = run(tmp_path, "validate", str(folder))
    assert result.returncode == 1
    assert f"{folder / 'SKILL.md'}: error: larger than 16 MiB" in result.stdout


@pytest.mark.parametrize("name", ["alpha\nhq", "alpha\n", " alpha", "../alpha", ".alpha",
                                  "\uff41lpha", "Alpha", "-alpha", "alpha\x00"])
@pytest.mark.parametrize("command", ["update", "remove", "install", "add"])
def test_lock_names_are_checked_before_use(installed: Path, tmp_path: Path, name: str,
                                           command: str) -> None:
    data = json.loads((installed / LOCK).read_text())
    data["skills"][name] = data["skills"].pop("alpha")
    (installed / LOCK).write_text(json.dumps(data))
    manifest = (installed / ".skills").read_bytes()
    args = {"remove": ["remove", "alpha"],
            "add": ["add", url_of(tmp_path / "source"), "-s", "alpha", "--yes"]}
    result = run(installed, *args.get(command, [command]))
    assert_one_line_error(result, f"{LOCK}: skills: {name!r} is not a skill name")
    assert (installed / ".skills").read_bytes() == manifest
    assert sorted(p.name for p in (installed / ".claude/skills").iterdir()) == ["alpha"]


def test_npx_lock_names_are_checked(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "source", ["alpha"])
    (git_repo / "skills-lock.json").write_text(json.dumps({"version": 1, "skills": {
        "alpha\nhq": {"source": url_of(source), "sourceType": "git"}}}))
    result = run(git_repo, "import-npx", "--yes")
    assert_one_line_error(result, "skills-lock.json: skills: 'alpha\\nhq' is not a skill name")
    assert not (git_repo / LOCK).exists() and not (git_repo / ".skills").exists()


def test_git_failure_shows_the_command_and_all_of_gits_message(tmp_path: Path,
                                                               git_repo: Path) -> None:
    missing = tmp_path / "no-such-repo"
    missing.mkdir()
    git(missing, "init", "-q")  # a folder we may parse as a source...
    url = url_of(missing)
    git(missing, "config", "core.bare", "true")
    (missing / ".git").rename(tmp_path / "moved")  # ...that no longer holds a repository
    result = run(git_repo, "add", url, "-s", "alpha", "--yes")
    assert_one_line_error(result, f"{url}: cannot fetch 'HEAD'; check the URL, the ref and "
                                  "your access.")
    line = result.stderr.strip()
    assert "fetch -q --no-tags" in line and "--end-of-options origin HEAD` exited with 128" in line
    assert "does not appear to be a git repository" in line
    assert "and the repository exists." in line


def test_add_all_with_no_valid_skill_says_why_for_each(tmp_path: Path, git_repo: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    make_skill(source / "skills", "alpha")
    (source / "skills/alpha/SKILL.md").write_text("---\nname: alpha\ndescription: ''\n---\n")
    (source / "skills/beta").mkdir()
    (source / "skills/beta/SKILL.md").write_text("no front matter\n")
    commit_all(source)
    result = run(git_repo, "add", url_of(source), "--all", "--yes")
    assert result.returncode == 2
    error = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(error) == 1 and "see the warnings" not in error[0]
    assert "'alpha' (skills/alpha/SKILL.md:3: 'description' must not be empty)" in error[0]
    assert "'beta' (skills/beta/SKILL.md:1: must start with YAML front matter" in error[0]


def worker(repo: Path, *args: str | bytes) -> subprocess.CompletedProcess[str]:
    argv: list[str | bytes] = [str(BIN / "worker"), *args]
    return subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((b"add", b"t1", b"--title", b"caf\xe9"), "--title: not UTF-8 text (byte 0xe9)"),
        ((b"add", b"t1", b"--title=caf\xe9"), "--title: not UTF-8 text (byte 0xe9)"),
        ((b"add", b"t1", b"--title", b"t", b"--description", b"\xff"),
         "--description: not UTF-8 text (byte 0xff)"),
        ((b"add", b"t1", b"--title", b"t", b"--description-file", b"description.txt"),
         "description.txt:2: not UTF-8 text (byte 0xff)"),
        ((b"add", b"t1", b"--title", b"t", b"--description-file", b"folder"),
         "folder: is a folder"),
        ((b"start", b"t0", b"--message", b"\xfe"), "--message: not UTF-8 text (byte 0xfe)"),
        ((b"report", b"--task", b"t0", b"--status", b"working", b"-m", b"\xfe"),
         "-m: not UTF-8 text (byte 0xfe)"),
    ],
    ids=["title", "title=", "description", "description-file", "description-folder",
         "start-message", "report-message"],
)
def test_worker_text_that_is_not_utf8(git_repo: Path, args: tuple[bytes, ...],
                                      message: str) -> None:
    (git_repo / "description.txt").write_bytes(b"line one\n\xff\n")
    (git_repo / "folder").mkdir()
    assert worker(git_repo, "add", "t0", "--title", "ok").returncode == 0
    result = worker(git_repo, *args)
    assert_one_line_error(result, f"worker: error: {message}", codes=(2,))


def test_prompt_template_that_is_not_utf8(tmp_path: Path) -> None:
    template = tmp_path / "prompt.j2"
    template.write_bytes(b"Do {{ task.title }}\n\xff\n")
    with pytest.raises(ConfigError, match="cannot read template"):
        render_prompt({"task": {"title": "x"}}, template_path=template)


@pytest.mark.parametrize("command", ["install", "update", "remove"])
def test_huge_manifest_is_never_read_whole_nor_rewritten(installed: Path, command: str) -> None:
    # 17 MiB of comments and no `alpha` line: install and update would list alpha, remove
    # would drop a line; each would read the whole file first and write it back.
    manifest = installed / ".skills"
    padding = ("# " + "x" * 1000 + "\n") * (17 * 1024)
    manifest.write_text(padding + ("alpha\n" if command == "remove" else ""))
    before = manifest.read_bytes()
    result = run(installed, *args_for(command, installed))
    assert_one_line_error(result, ".skills: larger than 16 MiB, too large to be read")
    assert manifest.read_bytes() == before
