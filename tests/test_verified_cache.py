"""The user-wide cache of skills found valid: used across repos, ignored when unusable."""

from __future__ import annotations

import os
from pathlib import Path

from ai_skills.deploy.use_skills import sync_repo
from ai_skills.skills import verified_cache
from tests.conftest import git
from tests.helpers import make_catalog


def new_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q")
    return root


def test_second_repo_reuses_verdicts_and_an_edit_revalidates(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path / "catalog", ["alpha"])
    skill_md = catalog / "alpha" / "SKILL.md"
    # A warning is only reported while a skill is being validated: it shows when we do.
    skill_md.write_text("---\nname: alpha\ndescription: a\nmodel: opus\n---\n")
    env = dict(os.environ, AI_SKILLS_PATH=str(catalog))
    first, second = new_repo(tmp_path / "one"), new_repo(tmp_path / "two")
    for repo in (first, second):
        (repo / ".skills").write_text("alpha\n")
    assert any("Claude Code extension" in w for w in sync_repo(first, env).warnings)
    report = sync_repo(second, env)
    assert report.warnings == [] and report.errors == []
    assert (second / ".claude/skills/alpha").is_symlink()
    skill_md.write_text("---\nname: alpha\n---\n")  # now invalid: must not ride on the cache
    third = new_repo(tmp_path / "three")
    (third / ".skills").write_text("alpha\n")
    assert any("description" in e for e in sync_repo(third, env).errors)
    assert not (third / ".claude/skills/alpha").exists()


def test_unusable_cache_files_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "verified.marshal"
    assert verified_cache.load_verified(path) == {}
    path.write_bytes(b"\x00garbage")
    assert verified_cache.load_verified(path) == {}
    folder = tmp_path / "alpha"
    folder.mkdir()
    verified_cache.remember_verified(path, {str(folder): [1, 2, 3]})
    assert verified_cache.load_verified(path) == {str(folder): [1, 2, 3]}
    import marshal

    path.write_bytes(marshal.dumps({"stamp": "0.0.0:/elsewhere", "entries": {"x": [1]}}))
    assert verified_cache.load_verified(path) == {}


def test_entries_of_deleted_folders_are_dropped_on_write(tmp_path: Path) -> None:
    path = tmp_path / "verified.marshal"
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    kept.mkdir()
    verified_cache.remember_verified(path, {str(gone): [1, 1, 1]})
    verified_cache.remember_verified(path, {str(kept): [2, 2, 2]})
    assert verified_cache.load_verified(path) == {str(kept): [2, 2, 2]}
