"""Installing skills from git through the core API: add, install, update, remove, check."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ai_skills.install.add import apply_add, plan_add
from ai_skills.install.check import CheckResult, check_skills
from ai_skills.install.contenthash import hash_folder
from ai_skills.install.installed import SelectionError, install_locked, remove_skills, update_skills
from ai_skills.install.lock import read_lock
from ai_skills.install.scope import Scope, repo_scope, user_scope
from ai_skills.install.source_spec import parse_source
from ai_skills.install.sources import SourceCache, cache_root
from tests.helpers import links_under, make_skill
from tests.source_repos import commit_all, git, make_source, url_of

THREE_AGENTS = [".claude/skills", ".opencode/skills", ".codex/skills"]


def cache() -> SourceCache:
    return SourceCache(cache_root(os.environ))


def env_for(repo: Path) -> dict[str, str]:
    return dict(os.environ, CODEX_HOME=str(repo / ".codex"))


def checked(repo: Path) -> list[CheckResult]:
    return check_skills(repo_scope(repo), env_for(repo), cwd=repo)


def add(scope: Scope, source: str, *, cwd: Path, skills: tuple[str, ...] = (),
        ref: str | None = None, all_skills: bool = False, env: dict[str, str] | None = None):
    with cache() as c:
        plan = plan_add(c, parse_source(source, cwd=cwd), skills=skills,
                        all_skills=all_skills, ref=ref)
        return apply_add(scope, c, plan, env or env_for(cwd), agents=None)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A source repo with skills/alpha (with a script and a relative link) and skills/beta."""
    repo = make_source(tmp_path / "source", ["alpha", "beta"])
    (repo / "skills/alpha/run.sh").write_text("#!/bin/sh\necho alpha\n")
    (repo / "skills/alpha/run.sh").chmod(0o755)
    (repo / "skills/alpha/refs").mkdir()
    (repo / "skills/alpha/refs/guide.md").write_text("guide\n")
    os.symlink("refs/guide.md", repo / "skills/alpha/guide.md")
    commit_all(repo, "alpha extras")
    return repo


def test_add_installs_pins_and_links_for_three_agents(source: Path, git_repo: Path) -> None:
    report = add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    assert report.errors == []
    assert [(c.name, c.action) for c in report.changes] == [("alpha", "installed")]
    installed = git_repo / ".ai-skills/skills/alpha"
    assert (installed / "SKILL.md").read_bytes() == (source / "skills/alpha/SKILL.md").read_bytes()
    assert os.stat(installed / "run.sh").st_mode & 0o777 == 0o755
    assert os.readlink(installed / "guide.md") == "refs/guide.md"
    links = {k: v for k, v in links_under(git_repo).items() if ".versions" not in k}
    assert links == {
        **{f"{d}/alpha": "../../.ai-skills/skills/alpha" for d in THREE_AGENTS},
        ".ai-skills/skills/alpha": os.readlink(installed),
    }
    lock = json.loads((git_repo / "ai-skills.lock.json").read_text())
    entry = lock["skills"]["alpha"]
    assert entry["commit"] == git(source, "rev-parse", "HEAD")
    assert entry["source"] == url_of(source)
    assert entry["path"] == "skills/alpha"
    assert entry["hash"] == hash_folder(installed.resolve())
    assert (git_repo / ".skills").read_text() == "alpha\n"


def test_skills_file_is_edited_surgically(source: Path, git_repo: Path) -> None:
    original = "# my skills\nreview-gate   # keep\n\n# end"
    (git_repo / ".skills").write_text(original)
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    assert (git_repo / ".skills").read_text() == original + "\nalpha\n"
    remove_skills(repo_scope(git_repo), ["alpha"], env_for(git_repo))
    assert (git_repo / ".skills").read_text() == original + "\n"


def test_reinstall_in_fresh_clone_is_bit_identical(source: Path, git_repo: Path,
                                                   tmp_path: Path) -> None:
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    commit_all(git_repo, "pin alpha")
    pinned = git(source, "rev-parse", "HEAD")
    (source / "skills/alpha/SKILL.md").write_text(
        "---\nname: alpha\ndescription: Newer.\n---\n# newer\n")
    commit_all(source, "upstream moves on")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    assert not (clone / ".ai-skills").exists()  # installed files are not committed
    shutil.rmtree(cache_root(os.environ))  # another machine: empty cache
    report = install_locked(repo_scope(clone), cache(), env_for(clone))
    assert report.errors == []
    old = git_repo / ".ai-skills/skills/alpha"
    new = clone / ".ai-skills/skills/alpha"
    assert hash_folder(new.resolve()) == hash_folder(old.resolve())
    assert read_lock(clone / "ai-skills.lock.json")["alpha"].commit == pinned
    assert (new / "SKILL.md").read_text() == (old / "SKILL.md").read_text()
    assert links_under(clone / ".claude") == {"skills/alpha": "../../.ai-skills/skills/alpha"}


def test_install_is_a_no_op_when_in_place(source: Path, git_repo: Path) -> None:
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    lock_before = (git_repo / "ai-skills.lock.json").stat().st_mtime_ns
    report = install_locked(repo_scope(git_repo), cache(), env_for(git_repo))
    assert (report.changes, report.linked, report.errors) == ([], [], [])
    assert (git_repo / "ai-skills.lock.json").stat().st_mtime_ns == lock_before


def test_install_restores_a_modified_folder(source: Path, git_repo: Path) -> None:
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    skill_md = git_repo / ".ai-skills/skills/alpha/SKILL.md"
    original = skill_md.read_text()
    skill_md.write_text(original + "tampered\n")
    results = checked(git_repo)
    assert [(r.name, r.local, r.ok) for r in results] == [("alpha", "modified", False)]
    report = install_locked(repo_scope(git_repo), cache(), env_for(git_repo))
    assert [(c.name, c.action) for c in report.changes] == [("alpha", "restored")]
    assert skill_md.read_text() == original


def test_install_refuses_content_that_does_not_match_the_lock(source: Path,
                                                              git_repo: Path) -> None:
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    lock_path = git_repo / "ai-skills.lock.json"
    data = json.loads(lock_path.read_text())
    data["skills"]["alpha"]["hash"] = "sha256:" + "0" * 64
    lock_path.write_text(json.dumps(data))
    link_before = os.readlink(git_repo / ".ai-skills/skills/alpha")
    report = install_locked(repo_scope(git_repo), cache(), env_for(git_repo))
    assert len(report.errors) == 1 and "the lock pins sha256:0000" in report.errors[0]
    assert os.readlink(git_repo / ".ai-skills/skills/alpha") == link_before


def test_update_moves_pin_and_lists_changed_files(source: Path, git_repo: Path) -> None:
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    old = git(source, "rev-parse", "HEAD")
    assert checked(git_repo)[0].upstream == "current"
    (source / "skills/alpha/run.sh").write_text("#!/bin/sh\necho v2\n")
    (source / "skills/alpha/new.md").write_text("new\n")
    (source / "skills/alpha/refs/guide.md").unlink()
    new = commit_all(source, "v2")
    moved = checked(git_repo)[0]
    assert (moved.upstream, moved.remote, moved.ok) == ("moved", new, False)
    report = update_skills(repo_scope(git_repo), cache(), [], env_for(git_repo))
    (change,) = report.changes
    assert (change.action, change.old_commit, change.new_commit) == ("updated", old, new)
    assert change.files == (("added", "new.md"), ("removed", "refs/guide.md"),
                            ("modified", "run.sh"))
    assert read_lock(git_repo / "ai-skills.lock.json")["alpha"].commit == new
    assert (git_repo / ".ai-skills/skills/alpha/new.md").read_text() == "new\n"
    versions = os.listdir(git_repo / ".ai-skills/skills/.versions")
    assert len(versions) == 1  # the old version was cleaned up
    again = update_skills(repo_scope(git_repo), cache(), [], env_for(git_repo))
    assert [c.action for c in again.changes] == ["unchanged"]


def test_ref_pins_a_tag_and_a_commit(source: Path, git_repo: Path) -> None:
    first = git(source, "rev-parse", "HEAD")
    git(source, "tag", "v1")
    (source / "skills/alpha/more.md").write_text("more\n")
    commit_all(source, "after v1")
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",), ref="v1")
    entry = read_lock(git_repo / "ai-skills.lock.json")["alpha"]
    assert (entry.ref, entry.commit) == ("v1", first)
    assert not (git_repo / ".ai-skills/skills/alpha/more.md").exists()
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("beta",), ref=first)
    results = {r.name: r for r in checked(git_repo)}
    assert results["beta"].upstream == "pinned"
    assert results["alpha"].upstream == "current"


def test_remove_deletes_only_own_files(source: Path, git_repo: Path) -> None:
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, all_skills=True)
    mine = git_repo / ".claude/skills/mine"
    make_skill(git_repo / ".claude/skills", "mine")
    report = remove_skills(repo_scope(git_repo), ["alpha"], env_for(git_repo))
    assert [c.action for c in report.changes] == ["removed"]
    assert not os.path.lexists(git_repo / ".ai-skills/skills/alpha")
    assert not os.path.lexists(git_repo / ".claude/skills/alpha")
    assert (git_repo / ".claude/skills/beta").is_dir()
    assert (mine / "SKILL.md").is_file()
    assert set(read_lock(git_repo / "ai-skills.lock.json")) == {"beta"}
    with pytest.raises(SelectionError, match="'alpha' not installed"):
        remove_skills(repo_scope(git_repo), ["alpha"], env_for(git_repo))


def test_add_refuses_a_foreign_folder_in_the_way(source: Path, git_repo: Path) -> None:
    make_skill(git_repo / ".ai-skills/skills", "alpha", "Hand-made.")
    with pytest.raises(Exception, match="did not install is in the way"):
        add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    assert "Hand-made." in (git_repo / ".ai-skills/skills/alpha/SKILL.md").read_text()
    assert not (git_repo / "ai-skills.lock.json").exists()


def test_selection_errors_name_what_is_available(source: Path, git_repo: Path) -> None:
    with pytest.raises(SelectionError, match=r"holds 2 skills \(alpha, beta\).*--skill"):
        add(repo_scope(git_repo), url_of(source), cwd=git_repo)
    with pytest.raises(SelectionError, match=r"no skill named 'gamma' \(available: alpha, beta\)"):
        add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("gamma",))
    assert not (git_repo / "ai-skills.lock.json").exists()


def test_discovery_root_skill_and_nested_folders(tmp_path: Path, git_repo: Path) -> None:
    root_skill = tmp_path / "solo"
    root_skill.mkdir()
    git(root_skill, "init", "-q", "-b", "main")
    (root_skill / "SKILL.md").write_text("---\nname: solo\ndescription: Top.\n---\n# solo\n")
    make_skill(root_skill / "examples", "inner")  # inside the skill: not a skill of its own
    commit_all(root_skill)
    c = cache()
    plan = plan_add(c, parse_source(url_of(root_skill), cwd=tmp_path), skills=(),
                    all_skills=False, ref=None)
    assert [(s.name, s.path) for s in plan.found] == [("solo", "")]
    nested = make_source(tmp_path / "nested", ["one"], folder="packs/a")
    make_skill(nested / "skills", "two")
    make_skill(nested / "node_modules/x", "three")
    commit_all(nested)
    plan = plan_add(c, parse_source(url_of(nested), cwd=tmp_path), skills=(),
                    all_skills=True, ref=None)
    assert [(s.name, s.path) for s in plan.found] == [("two", "skills/two"),
                                                       ("one", "packs/a/one")]


def test_local_path_source_is_pinned_by_file_url(source: Path, git_repo: Path) -> None:
    add(repo_scope(git_repo), str(source / "skills/beta"), cwd=git_repo)
    entry = read_lock(git_repo / "ai-skills.lock.json")["beta"]
    assert (entry.source, entry.path) == (url_of(source), "skills/beta")


def test_global_add_links_user_folders_and_removes_cleanly(source: Path, tmp_path: Path,
                                                           isolated_home: Path) -> None:
    env = dict(os.environ)
    scope = user_scope(env)
    c = cache()
    plan = plan_add(c, parse_source(url_of(source), cwd=tmp_path), skills=("alpha",),
                    all_skills=False, ref=None)
    report = apply_add(scope, c, plan, env, agents=["claude", "codex"])
    assert report.errors == []
    installed = Path(env["XDG_DATA_HOME"]) / "ai-skills/skills/alpha"
    assert os.readlink(isolated_home / ".claude/skills/alpha") == str(installed)
    assert os.readlink(isolated_home / ".codex/skills/alpha") == str(installed)
    assert not os.path.lexists(isolated_home / ".config/opencode/skills/alpha")
    lock = read_lock(Path(env["XDG_CONFIG_HOME"]) / "ai-skills/lock.json")
    assert lock["alpha"].agents == ("claude", "codex")
    remove_skills(scope, ["alpha"], env)
    assert not os.path.lexists(isolated_home / ".claude/skills/alpha")
    assert not os.path.lexists(installed)


def test_a_skill_earlier_in_the_search_path_is_reported(source: Path, git_repo: Path,
                                                        tmp_path: Path) -> None:
    other = tmp_path / "path-skills"
    make_skill(other, "alpha", "From AI_SKILLS_PATH.")
    env = dict(env_for(git_repo), AI_SKILLS_PATH=str(other))
    report = add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",), env=env)
    assert report.warnings == [
        f"'alpha' in {other} (AI_SKILLS_PATH) comes first in the search path, so agents get "
        "that one, not the installed alpha"
    ]
    assert os.readlink(git_repo / ".claude/skills/alpha") == str(other / "alpha")


def test_add_from_a_server_that_honours_partial_clone(source: Path, git_repo: Path) -> None:
    git(source, "config", "uploadpack.allowFilter", "true")
    (source / "skills/beta/big.bin").write_bytes(b"\1" * 50_000)
    commit_all(source, "beta grows")
    report = add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    assert report.errors == []
    assert os.readlink(git_repo / ".ai-skills/skills/alpha/guide.md") == "refs/guide.md"
    cached = cache().repo_dir(url_of(source))
    big = git(source, "rev-parse", "HEAD:skills/beta/big.bin")
    head = git(source, "rev-parse", "HEAD")
    missing = git(cached, "rev-list", "--objects", "--missing=print", "--no-walk", head)
    assert f"?{big}" in missing.splitlines()  # never fetched: beta was not installed


def test_invalid_skills_are_flagged_in_the_plan_and_skipped_by_all(source: Path,
                                                                  git_repo: Path) -> None:
    (source / "skills/beta/SKILL.md").write_text("---\nname: beta\n---\n# no description\n")
    commit_all(source, "break beta")
    c = cache()
    plan = plan_add(c, parse_source(url_of(source), cwd=git_repo), skills=(),
                    all_skills=True, ref=None)
    problems = {s.name: s.problem for s in plan.found}
    assert problems == {"alpha": None,
                        "beta": "SKILL.md:1: missing required field 'description'"}
    assert [s.name for s in plan.selected] == ["alpha"]
    assert plan.warnings == [f"{url_of(source)} @ {git(source, 'rev-parse', 'HEAD')[:12]}: "
                             "skipping 'beta' (skills/beta/SKILL.md:1: missing required "
                             "field 'description')"]


def test_check_asks_the_server_once_per_source_and_ref(source: Path, git_repo: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import ai_skills.install.check as installed

    add(repo_scope(git_repo), url_of(source), cwd=git_repo, all_skills=True)
    new = commit_all(source, "moved on")
    asked: list[tuple[str, str | None]] = []

    def counting(url: str, ref: str | None, *, cwd: Path) -> str | None:
        asked.append((url, ref))
        return installed_remote_commit(url, ref, cwd=cwd)

    installed_remote_commit = installed.remote_commit
    monkeypatch.setattr(installed, "remote_commit", counting)
    results = checked(git_repo)
    assert [(r.name, r.upstream, r.remote) for r in results] == [
        ("alpha", "moved", new), ("beta", "moved", new)]
    assert asked == [(url_of(source), None)]


def test_update_fetches_once_per_source_and_ref(source: Path, git_repo: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, all_skills=True)
    new = commit_all(source, "moved on")
    fetched: list[str] = []
    real_resolve = SourceCache.resolve

    def counting(self: SourceCache, url: str, ref: str | None) -> str:
        fetched.append(url)
        return real_resolve(self, url, ref)

    monkeypatch.setattr(SourceCache, "resolve", counting)
    report = update_skills(repo_scope(git_repo), cache(), [], env_for(git_repo))
    assert [(c.name, c.action, c.new_commit) for c in report.changes] == [
        ("alpha", "updated", new), ("beta", "updated", new)]
    assert fetched == [url_of(source)]


def test_an_emptied_gitignore_of_the_install_folder_is_written_again(
    git_repo: Path, source: Path
) -> None:
    # It is written without an fsync: an empty file is what a crash can leave.
    ignore = git_repo / ".ai-skills/.gitignore"
    ignore.parent.mkdir()
    ignore.write_text("")
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("alpha",))
    assert ignore.read_text().splitlines()[-1] == "*"
    assert git(git_repo, "status", "--porcelain", "--", ".ai-skills") == ""
    ignore.write_text("# mine\n*\n")  # one the user changed is theirs
    add(repo_scope(git_repo), url_of(source), cwd=git_repo, skills=("beta",))
    assert ignore.read_text() == "# mine\n*\n"
