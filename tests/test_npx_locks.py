"""Reading `npx skills` lock files (as 1.7.x writes them) and importing from them, no Node."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ai_skills.install.lock import read_lock
from ai_skills.install.npx_interop import (
    NpxLockError,
    global_lock_path,
    import_spec,
    npx_skills,
    read_npx_lock,
)
from tests.source_repos import make_source, url_of
from tests.test_add_cli import run


def write_project_lock(repo: Path, skills: dict[str, dict[str, str]]) -> None:
    (repo / "skills-lock.json").write_text(json.dumps({"version": 1, "skills": skills}))


def test_global_lock_follows_xdg_state_home(isolated_home: Path) -> None:
    env = {"HOME": str(isolated_home), "XDG_STATE_HOME": "/state"}
    assert global_lock_path(env) == Path("/state/skills/.skill-lock.json")
    assert global_lock_path({"HOME": "/h"}) == Path("/h/.agents/.skill-lock.json")


def test_project_and_global_locks_are_read(git_repo: Path, tmp_path: Path) -> None:
    write_project_lock(git_repo, {"alpha": {
        "source": "file:///src", "sourceUrl": "file:///src", "sourceType": "git",
        "skillPath": "skills/alpha/SKILL.md", "computedHash": "ab"}})
    global_lock = global_lock_path(os.environ)
    global_lock.parent.mkdir(parents=True)
    global_lock.write_text(json.dumps({"version": 3, "dismissed": {}, "skills": {"beta": {
        "source": "/src", "sourceType": "local", "sourceUrl": "/src",
        "skillFolderHash": "cd", "installedAt": "x", "updatedAt": "y"}}}))
    found = npx_skills(git_repo, os.environ)
    assert [(s.name, s.scope, s.source_type) for s in found] == [
        ("alpha", "project", "git"), ("beta", "global", "local")]
    listed = json.loads(run(git_repo, "list", "--json").stdout)
    origins = {row["name"]: row["origin"] for row in listed}
    assert origins["alpha"] == "npx skills (project)"
    assert origins["beta"] == "npx skills (global)"


def test_a_broken_npx_lock_names_the_file(git_repo: Path) -> None:
    (git_repo / "skills-lock.json").write_text('{"version": 1, "skills": {"a": {}}}')
    with pytest.raises(NpxLockError, match=r"skills-lock.json: not an npx skills lock file "
                                           r"\(skills\.a\.source: Field required\)"):
        read_npx_lock(git_repo / "skills-lock.json", scope="project")


def test_import_spec_for_each_source_type(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    write_project_lock(git_repo, {
        "alpha": {"source": "../src", "sourceType": "local", "computedHash": "x"},
        "gamma": {"source": url_of(source), "sourceUrl": url_of(source), "sourceType": "git",
                  "skillPath": "skills/alpha/SKILL.md", "computedHash": "x"},
        "web": {"source": "example.com", "sourceType": "well-known", "computedHash": "x"},
    })
    local, git_entry, web = read_npx_lock(git_repo / "skills-lock.json", scope="project")
    assert (import_spec(local).url, import_spec(local).subpath) == (url_of(source), "")
    assert (import_spec(git_entry).url, import_spec(git_entry).subpath) == (
        url_of(source), "skills/alpha")
    with pytest.raises(NpxLockError, match="'web' came from a well-known source"):
        import_spec(web)


def test_import_npx_pins_without_touching_npx_files(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha", "beta"])
    write_project_lock(git_repo, {"alpha": {
        "source": url_of(source), "sourceUrl": url_of(source), "sourceType": "git",
        "skillPath": "skills/alpha/SKILL.md", "computedHash": "x"}})
    before = (git_repo / "skills-lock.json").read_bytes()
    result = run(git_repo, "import-npx", "--yes")
    assert result.returncode == 0, result.stderr
    assert set(read_lock(git_repo / "ai-skills.lock.json")) == {"alpha"}
    assert (git_repo / ".ai-skills/skills/alpha/SKILL.md").is_file()
    assert (git_repo / "skills-lock.json").read_bytes() == before
    assert not (git_repo / ".claude").exists()
    assert "next: `npx skills remove NAME` for each, then `ai-skills install`" in result.stderr


def test_import_npx_in_a_repo_ignores_a_broken_global_lock(tmp_path: Path,
                                                           git_repo: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    write_project_lock(git_repo, {"alpha": {
        "source": url_of(source), "sourceUrl": url_of(source), "sourceType": "git",
        "skillPath": "skills/alpha/SKILL.md", "computedHash": "x"}})
    global_lock = global_lock_path(os.environ)
    global_lock.parent.mkdir(parents=True)
    global_lock.write_text("{not json")
    result = run(git_repo, "import-npx", "--yes")
    assert result.returncode == 0, result.stderr
    assert set(read_lock(git_repo / "ai-skills.lock.json")) == {"alpha"}


def test_import_npx_skips_a_source_it_cannot_pin(tmp_path: Path, git_repo: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    write_project_lock(git_repo, {
        "alpha": {"source": url_of(source), "sourceUrl": url_of(source), "sourceType": "git",
                  "skillPath": "skills/alpha/SKILL.md", "computedHash": "x"},
        "aaa-web": {"source": "example.com", "sourceType": "well-known", "computedHash": "x"},
    })
    result = run(git_repo, "import-npx", "--yes")
    assert result.returncode == 0, result.stderr
    assert set(read_lock(git_repo / "ai-skills.lock.json")) == {"alpha"}
    assert "warning: " in result.stderr and "'aaa-web' came from a well-known source" in (
        result.stderr)


def test_import_npx_pins_the_rest_when_one_source_is_gone(tmp_path: Path,
                                                         git_repo: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    gone = (tmp_path / "gone").as_uri()
    write_project_lock(git_repo, {
        "aaa-gone": {"source": gone, "sourceUrl": gone, "sourceType": "git",
                     "skillPath": "skills/aaa-gone/SKILL.md", "computedHash": "x"},
        "aab-moved": {"source": "../moved", "sourceType": "local", "computedHash": "x"},
        "alpha": {"source": url_of(source), "sourceUrl": url_of(source), "sourceType": "git",
                  "skillPath": "skills/alpha/SKILL.md", "computedHash": "x"},
    })
    result = run(git_repo, "import-npx", "--yes")
    assert result.returncode == 1, result.stderr
    assert set(read_lock(git_repo / "ai-skills.lock.json")) == {"alpha"}
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 2 and gone in errors[0] and "moved: no such folder" in errors[1]


def test_import_spec_of_a_skill_at_the_top_of_a_local_source(tmp_path: Path,
                                                             git_repo: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    write_project_lock(git_repo, {"alpha": {
        "source": str(source / "skills/alpha"), "sourceType": "local",
        "skillPath": "SKILL.md", "computedHash": "x"}})
    (entry,) = read_npx_lock(git_repo / "skills-lock.json", scope="project")
    spec = import_spec(entry)
    assert (spec.url, spec.subpath) == (url_of(source), "skills/alpha")
