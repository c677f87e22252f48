"""Hostile sources are refused with the file and the reason, and nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ai_skills.errors import AiSkillsError
from ai_skills.install import materialize
from ai_skills.install.add import apply_add, plan_add
from ai_skills.install.scope import repo_scope
from ai_skills.install.source_git import SourceError
from ai_skills.install.source_spec import parse_source
from ai_skills.install.sources import SourceCache, cache_root
from tests.helpers import make_skill
from tests.source_repos import commit_all, git, make_hostile_source, make_source, url_of


def try_add(source: Path, repo: Path, *skills: str) -> None:
    cache = SourceCache(cache_root(os.environ))
    plan = plan_add(cache, parse_source(url_of(source), cwd=repo), skills=skills,
                    all_skills=not skills, ref=None)
    apply_add(repo_scope(repo), cache, plan, dict(os.environ), agents=None)


def assert_nothing_written(repo: Path) -> None:
    assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
    assert not (repo / ".skills").exists()
    assert not (repo / ".claude").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("120000", b"escape", b"../../../etc/passwd"),
         r"skills/evil/escape: symlink points outside the skill folder \(../../../etc/passwd\)"),
        (("120000", b"abs", b"/etc/passwd"),
         r"skills/evil/abs: symlink points outside the skill folder \(/etc/passwd\)"),
        (("100644", b"..", b"x"), r"skills/evil/\.\.: path is absolute or contains '\.\.'"),
        (("100644", b".git", b"x"), r"skills/evil/\.git: path names '\.git'"),
        (("160000", b"sub", b""), r"skills/evil/sub: is a submodule"),
    ],
    ids=["escaping-symlink", "absolute-symlink", "dotdot-path", "dot-git", "submodule"],
)
def test_hostile_entry_is_refused(tmp_path: Path, git_repo: Path,
                                  extra: tuple[str, bytes, bytes], message: str) -> None:
    source = make_hostile_source(tmp_path / "hostile", extra)
    with pytest.raises(materialize.UnsafeSkillError, match=message):
        try_add(source, git_repo, "evil")
    assert_nothing_written(git_repo)


def test_symlink_chain_that_climbs_out_is_refused(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "chain", ["evil"])
    folder = source / "skills/evil"
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub/up")  # lexically inside (sub/.. is the skill folder)
    os.symlink("sub/up/..", folder / "out")  # but through sub/up it reaches skills/
    commit_all(source)
    with pytest.raises(materialize.UnsafeSkillError,
                       match=r"skills/evil/out: symlink points outside the skill folder"):
        try_add(source, git_repo, "evil")
    assert_nothing_written(git_repo)


def test_chain_check_runs_before_anything_is_written() -> None:
    files = [materialize.PlannedFile("sub/up", "link", "1"),
             materialize.PlannedFile("out", "link", "2"),
             materialize.PlannedFile("ok", "link", "3"),
             materialize.PlannedFile("loop", "link", "4")]
    blobs = {"1": b"..", "2": b"sub/up/..", "3": b"sub/up/sub", "4": b"loop"}
    with pytest.raises(materialize.UnsafeSkillError, match=r"^w: loop: .*\(loop\)"):
        materialize.check_links(files, blobs, where="w: ")
    del blobs["4"], files[3]
    with pytest.raises(materialize.UnsafeSkillError, match=r"^w: out: .*\(sub/up/\.\.\)"):
        materialize.check_links(files, blobs, where="w: ")
    materialize.check_links(files[::2], blobs, where="w: ")  # sub/up and ok stay inside


def test_bad_skill_name_is_refused(tmp_path: Path, git_repo: Path) -> None:
    source = tmp_path / "badname"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    folder = source / "skills/Bad_Name"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: Bad_Name\ndescription: x\n---\n")
    commit_all(source)
    with pytest.raises(materialize.UnsafeSkillError,
                       match=r"skills/Bad_Name: name 'Bad_Name' must be lowercase; refused"):
        try_add(source, git_repo, "Bad_Name")
    assert_nothing_written(git_repo)


def test_invalid_skill_md_is_refused_with_its_line(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "invalid", [])
    folder = source / "skills/gamma"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: gamma\ndescription: ok\ncolour: red\n---\n")
    commit_all(source)
    with pytest.raises(AiSkillsError, match=r"gamma/SKILL.md:4: unknown field 'colour'"):
        try_add(source, git_repo, "gamma")
    assert_nothing_written(git_repo)


def test_oversized_file_is_refused(tmp_path: Path, git_repo: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(materialize, "MAX_FILE_BYTES", 1000)
    source = make_source(tmp_path / "big", ["big"])
    (source / "skills/big/data.bin").write_bytes(b"\0" * 1001)
    commit_all(source)
    with pytest.raises(materialize.UnsafeSkillError,
                       match=r"data.bin: 1001 bytes; a skill file may be at most 1000 bytes"):
        try_add(source, git_repo, "big")
    assert_nothing_written(git_repo)


def test_oversized_skill_is_refused(tmp_path: Path, git_repo: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(materialize, "MAX_TOTAL_BYTES", 2000)
    source = make_source(tmp_path / "big", ["big"])
    for index in range(3):
        (source / f"skills/big/part{index}.bin").write_bytes(bytes([index]) * 900)
    commit_all(source)
    with pytest.raises(materialize.UnsafeSkillError, match=r"a skill may hold at most 2000"):
        try_add(source, git_repo, "big")
    assert_nothing_written(git_repo)


def test_symlinked_skill_md_is_refused(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "linkmd", [])
    folder = source / "skills/lnk"
    folder.mkdir(parents=True)
    (folder / "real.md").write_text("---\nname: lnk\ndescription: x\n---\n")
    os.symlink("real.md", folder / "SKILL.md")
    commit_all(source)
    with pytest.raises(materialize.UnsafeSkillError, match="SKILL.md: is a symlink"):
        try_add(source, git_repo, "lnk")
    assert_nothing_written(git_repo)


def test_hooks_of_the_source_never_run(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "hooked", ["alpha"])
    witness = tmp_path / "hook-ran"
    for hook in ("post-checkout", "post-merge", "reference-transaction", "pre-upload"):
        path = source / ".git/hooks" / hook
        path.write_text(f"#!/bin/sh\ntouch {witness}\n")
        path.chmod(0o755)
    make_skill(source / "skills", "beta")
    commit_all(source)  # hooks may run here, in the source; reset the witness after
    witness.unlink(missing_ok=True)
    try_add(source, git_repo, "alpha")
    assert (git_repo / ".ai-skills/skills/alpha/SKILL.md").is_file()
    assert not witness.exists()


@pytest.mark.parametrize(
    "text",
    ["http://example.com/x.git", "ext::sh -c touch% /tmp/pwned", "fd::3", "nonsense",
     "-oProxyCommand@host:x", "ssh://-oProxyCommand=touch/x", "git@-host:repo"],
)
def test_unsupported_sources_are_refused(text: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        parse_source(text, cwd=tmp_path)


def test_on_disk_link_check_backs_up_the_planned_one(tmp_path: Path) -> None:
    files = [materialize.PlannedFile("SKILL.md", "644", "1"),
             materialize.PlannedFile("sub/up", "link", "2"),
             materialize.PlannedFile("out", "link", "3")]
    blobs = {"1": b"x", "2": b"..", "3": b"sub/up/.."}
    materialize.write_files(tmp_path / "skill", files, blobs)
    assert (tmp_path / "skill/SKILL.md").stat().st_mode & 0o777 == 0o644
    with pytest.raises(materialize.UnsafeSkillError, match="out: symlink leads outside"):
        materialize.check_links_on_disk(tmp_path / "skill", files, where="")
    materialize.check_links_on_disk(tmp_path / "skill", files[:2], where="")
