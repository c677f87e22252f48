"""State integrity of installed skills: one lock for every edit, ownership of user links,
and the smaller wrongs of issue 12 (each test here failed before its fix)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ai_skills.install.scope import repo_scope
from ai_skills.util.fs import file_lock
from tests.helpers import kill_at_pause, links_under
from tests.source_repos import commit_all, git, make_source, url_of

AI_SKILLS = str(Path(sys.executable).parent / "ai-skills")
NAMES = [f"s{i}" for i in range(1, 7)]


def run(cwd: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AI_SKILLS, *args], cwd=cwd, env=env or dict(os.environ),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def start(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([AI_SKILLS, *args], cwd=cwd, env=env or dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "source", NAMES)


def pinned_names(repo: Path) -> set[str]:
    return set(json.loads((repo / "ai-skills.lock.json").read_text())["skills"])


# --- one lock for every edit -------------------------------------------------------------


@pytest.mark.slow
# Ten rounds, each its own test so that parallel test workers share them out.
@pytest.mark.parametrize("round_", range(10))
def test_concurrent_adds_lose_no_manifest_line(source: Path, tmp_path: Path, round_: int) -> None:
    # Many comment lines make reading and replacing `.skills` slow enough that, before the
    # fix, one add's write regularly replaced a file another add had just appended to.
    comments = "# a comment the user wrote and wants kept\n" * 100_000
    repo = tmp_path / f"repo{round_}"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".skills").write_text(comments)
    procs = [start(repo, "add", str(source / "skills" / name), "--yes") for name in NAMES]
    results = [(proc.wait(timeout=300), proc.stderr.read() if proc.stderr else "")
               for proc in procs]
    assert all(code == 0 for code, _ in results), results
    assert pinned_names(repo) == set(NAMES)
    text = (repo / ".skills").read_text()
    assert text.startswith(comments)
    listed = text[len(comments):].split()
    assert sorted(listed) == NAMES, f"round {round_}: .skills lists {listed}"


def test_install_edits_skills_only_under_the_lock(source: Path, git_repo: Path) -> None:
    assert run(git_repo, "add", url_of(source), "-s", "s1", "--yes").returncode == 0
    (git_repo / ".skills").write_text("# mine\n")
    with file_lock(repo_scope(git_repo).mutation_lock):
        proc = start(git_repo, "install")
        time.sleep(1.5)
        assert (git_repo / ".skills").read_text() == "# mine\n"
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (git_repo / ".skills").read_text() == "# mine\ns1\n"


def test_skills_that_is_a_folder_is_one_clear_line(source: Path, git_repo: Path) -> None:
    (git_repo / ".skills").mkdir()
    result = run(git_repo, "add", url_of(source), "-s", "s1", "--yes")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"ai-skills: error: {git_repo / '.skills'}: is a folder, not a file; "
        "move it aside so ai-skills can list skills in it; nothing was changed")
    assert not (git_repo / "ai-skills.lock.json").exists()
    assert not (git_repo / ".ai-skills/skills/s1").exists()
    (git_repo / ".skills").rmdir()
    assert run(git_repo, "add", url_of(source), "-s", "s1", "--yes").returncode == 0
    lock = (git_repo / "ai-skills.lock.json").read_text()
    (git_repo / ".skills").unlink()
    (git_repo / ".skills").mkdir()
    for command in ("remove", "update"):
        result = run(git_repo, command, "s1")
        assert result.returncode == 1, command
        assert result.stderr.splitlines()[-1].endswith("; nothing was changed"), command
        assert (git_repo / "ai-skills.lock.json").read_text() == lock
        assert (git_repo / ".ai-skills/skills/s1/SKILL.md").is_file()


def test_a_symlinked_skills_is_never_read_through_or_replaced(source: Path, git_repo: Path,
                                                             tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("private\n")
    (git_repo / ".skills").symlink_to(secret)
    result = run(git_repo, "add", url_of(source), "-s", "s1", "--yes")
    assert result.returncode == 1
    assert "is a symlink" in result.stderr.splitlines()[-1]
    assert os.readlink(git_repo / ".skills") == str(secret)
    assert secret.read_text() == "private\n"
    assert not (git_repo / "ai-skills.lock.json").exists()


# --- ownership between add --global and deploy --global ----------------------------------


def test_deploy_global_never_adopts_or_removes_links_of_add_global(
    source: Path, tmp_path: Path, isolated_home: Path
) -> None:
    assert run(tmp_path, "add", "--global", url_of(source), "-s", "s1").returncode == 0
    targets = [isolated_home / d / "s1"
               for d in (".claude/skills", ".config/opencode/skills", ".codex/skills")]
    installed = str(Path(os.environ["XDG_DATA_HOME"]) / "ai-skills/skills/s1")
    assert [os.readlink(t) for t in targets] == [installed] * 3
    first = run(tmp_path, "deploy", "--global", "--skill", "s1")
    assert first.returncode == 0, first.stderr
    second = run(tmp_path, "deploy", "--global", "--skill", "review-gate")
    assert second.returncode == 0, second.stderr
    assert [os.readlink(t) for t in targets] == [installed] * 3
    assert (isolated_home / ".claude/skills/review-gate/SKILL.md").is_file()
    assert run(tmp_path, "check", "--global", "--offline").returncode == 0
    targets[0].unlink()
    checked = run(tmp_path, "check", "--global", "--offline")
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == ["s1: ok, upstream current",
                                           f"    not linked: {targets[0]}"]
    assert run(tmp_path, "install", "--global").returncode == 0
    assert os.readlink(targets[0]) == installed
    assert run(tmp_path, "remove", "--global", "s1").returncode == 0
    assert not any(os.path.lexists(t) for t in targets)
    assert (isolated_home / ".claude/skills/review-gate/SKILL.md").is_file()


def test_add_global_refuses_a_link_of_deploy_global_before_installing(
    source: Path, tmp_path: Path, isolated_home: Path
) -> None:
    assert run(tmp_path, "deploy", "--global", "--skill", "review-gate").returncode == 0
    made = os.readlink(isolated_home / ".claude/skills/review-gate")
    other = make_source(tmp_path / "other", ["review-gate"])
    result = run(tmp_path, "add", "--global", url_of(other), "-s", "review-gate")
    assert result.returncode == 1
    assert "`ai-skills deploy --global` made it" in result.stderr
    assert os.readlink(isolated_home / ".claude/skills/review-gate") == made
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "ai-skills/lock.json").exists()
    again = run(tmp_path, "deploy", "--global", "--skill", "review-gate")
    assert (again.returncode, again.stderr) == (0, "")


# --- smaller wrongs ------------------------------------------------------------------------


def test_install_installs_what_it_can_and_reports_every_problem(
    source: Path, git_repo: Path, tmp_path: Path
) -> None:
    assert run(git_repo, "add", url_of(source), "-s", "s1", "-s", "s2", "-s", "s3").returncode == 0
    lock_path = git_repo / "ai-skills.lock.json"
    lock = json.loads(lock_path.read_text())
    for name in ("s1", "s3"):
        lock["skills"][name]["hash"] = "sha256:" + "0" * 64
    lock_path.write_text(json.dumps(lock))
    commit_all(git_repo, "pin (tampered)")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    result = run(clone, "install")
    assert result.returncode == 1
    assert (clone / ".ai-skills/skills/s2/SKILL.md").is_file()
    assert (clone / ".claude/skills/s2").is_symlink()
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert [("'s1'" in e, "'s3'" in e) for e in errors[:2]] == [(True, False), (False, True)]
    assert "Nothing was changed" not in result.stderr
    assert "ai-skills: installed s2" in result.stderr


def test_add_refuses_a_name_pinned_from_another_source(source: Path, git_repo: Path,
                                                       tmp_path: Path) -> None:
    other = make_source(tmp_path / "other", ["s1"])
    assert run(git_repo, "add", url_of(source), "-s", "s1").returncode == 0
    before = (git_repo / "ai-skills.lock.json").read_text()
    result = run(git_repo, "add", url_of(other), "-s", "s1")
    assert result.returncode == 1
    assert (f"'s1' is pinned from {url_of(source)} (skills/s1); this add would replace it "
            f"with {url_of(other)} (skills/s1); pass --force to replace it") in result.stderr
    assert (git_repo / "ai-skills.lock.json").read_text() == before
    forced = run(git_repo, "add", url_of(other), "-s", "s1", "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((git_repo / "ai-skills.lock.json").read_text())["skills"]["s1"][
        "source"] == url_of(other)


def test_add_from_a_folder_with_uncommitted_changes_warns(source: Path, git_repo: Path) -> None:
    skill_md = source / "skills/s1/SKILL.md"
    skill_md.write_text(skill_md.read_text() + "\nnot committed yet\n")
    (source / "skills/s1/new.md").write_text("new\n")
    (source / "skills/s2/SKILL.md").write_text("changes elsewhere are not reported\n")
    result = run(git_repo, "add", str(source / "skills/s1"), "--yes")
    assert result.returncode == 0, result.stderr
    head = git(source, "rev-parse", "HEAD")[:12]
    assert (f"ai-skills: warning: {source / 'skills/s1'}: 2 uncommitted change(s) "
            f"(SKILL.md, new.md) are not in the pinned commit {head}; to include them, "
            f"commit them (git -C {source} commit) and run `ai-skills update s1`"
            ) in result.stderr.splitlines()
    assert result.stderr.count("uncommitted change(s)") == 1
    assert "not committed yet" not in (git_repo / ".ai-skills/skills/s1/SKILL.md").read_text()
    as_json = run(git_repo, "add", str(source / "skills/s1"), "--json")
    assert any("uncommitted change(s)" in w for w in json.loads(as_json.stdout)["warnings"])


def statuses(trace: Path) -> int:
    """How many `git status` runs GIT_TRACE recorded."""
    return sum(" status " in line for line in trace.read_text().splitlines()
               if "trace: built-in: git " in line)


def test_a_clean_folder_is_seen_clean_without_git_status(
    source: Path, git_repo: Path, tmp_path: Path
) -> None:
    (source / "skills/s1/run.sh").write_text("#!/bin/sh\n")
    (source / "skills/s1/run.sh").chmod(0o755)
    os.symlink("SKILL.md", source / "skills/s1/link.md")
    commit_all(source, "a script and a link")
    (source / "skills/s2/SKILL.md").write_text("changes elsewhere do not count\n")
    trace = tmp_path / "trace"
    env = dict(os.environ, GIT_TRACE=str(trace))
    result = run(git_repo, "add", str(source / "skills/s1"), "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert "uncommitted" not in result.stderr
    assert statuses(trace) == 0  # the folder matched the commit file by file
    (source / "skills/s1/run.sh").chmod(0o644)  # only a mode differs: git has the say
    trace.unlink()
    result = run(git_repo, "add", str(source / "skills/s1"), "--yes", env=env)
    assert statuses(trace) == 1
    assert f"{source / 'skills/s1'}: 1 uncommitted change(s) (run.sh)" in result.stderr
    (source / "skills/s1/run.sh").chmod(0o755)
    (source / ".gitignore").write_text("*.pyc\n")
    commit_all(source, "ignore")
    (source / "skills/s1/cache.pyc").write_text("ignored\n")  # git ignores it: no warning
    trace.unlink()
    result = run(git_repo, "add", str(source / "skills/s1"), "--yes", env=env)
    assert statuses(trace) == 1
    assert "uncommitted" not in result.stderr


def test_check_names_each_changed_file(source: Path, git_repo: Path) -> None:
    (source / "skills/s1/run.sh").write_text("#!/bin/sh\n")
    (source / "skills/s1/gone.md").write_text("gone\n")
    commit_all(source, "more files")
    assert run(git_repo, "add", url_of(source), "-s", "s1").returncode == 0
    folder = git_repo / ".ai-skills/skills/s1"
    (folder / "SKILL.md").write_text((folder / "SKILL.md").read_text() + "edited\n")
    (folder / "extra.md").write_text("extra\n")
    (folder / "gone.md").unlink()
    (folder / "run.sh").chmod(0o755)
    result = run(git_repo, "check", "--offline")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "s1: modified, upstream current",
        "    modified SKILL.md",
        "    added    extra.md",
        "    removed  gone.md",
        "    mode 644 -> 755 run.sh",
    ]
    data = json.loads(run(git_repo, "check", "--offline", "--json").stdout)
    assert data[0]["files"][-1] == {"change": "mode 644 -> 755", "path": "run.sh"}


def test_leftovers_of_a_killed_run_go_with_the_next_command(source: Path, git_repo: Path,
                                                            tmp_path: Path) -> None:
    assert run(git_repo, "add", url_of(source), "-s", "s1").returncode == 0
    versions = git_repo / ".ai-skills/skills/.versions"
    in_use = set(os.listdir(versions))
    kill_at_pause([AI_SKILLS, "add", url_of(source), "-s", "s2", "--yes"], git_repo,
                  marker=tmp_path / "p")
    assert len(set(os.listdir(versions)) - in_use) == 1  # an unused version
    # The next run that takes the lock clears it, then is killed with its staging folder.
    kill_at_pause([AI_SKILLS, "add", url_of(source), "-s", "s3", "--yes"], git_repo,
                  marker=tmp_path / "p", point="staged")
    assert [n[:6] for n in set(os.listdir(versions)) - in_use] == [".stage"]
    result = run(git_repo, "install")
    assert result.returncode == 0, result.stderr
    assert set(os.listdir(versions)) == in_use
    assert pinned_names(git_repo) == {"s1"}


def test_user_scope_leftovers_go_with_deploy_global(source: Path, tmp_path: Path) -> None:
    assert run(tmp_path, "add", "--global", url_of(source), "-s", "s1").returncode == 0
    versions = Path(os.environ["XDG_DATA_HOME"]) / "ai-skills/skills/.versions"
    in_use = set(os.listdir(versions))
    (versions / f".stage0123456789ab.ai-skills-tmp-{dead_pid()}" / "s2").mkdir(parents=True)
    (versions / ("0" * 20) / "s9").mkdir(parents=True)
    assert run(tmp_path, "deploy", "--global", "--skill", "review-gate").returncode == 0
    assert set(os.listdir(versions)) == in_use


def test_an_agent_folder_that_cannot_be_had_changes_nothing(source: Path,
                                                          git_repo: Path) -> None:
    # A relative CODEX_HOME is refused (links would dangle): before the check came first,
    # `add` installed and pinned, then failed to link.
    (git_repo / ".skills").write_text("# mine\n")
    env = dict(os.environ, CODEX_HOME=".codex")
    result = run(git_repo, "add", url_of(source), "-s", "s1", "--agents", "claude,codex",
                 env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert "CODEX_HOME='.codex' is a relative path" in last
    assert last.endswith("; nothing was changed")
    assert not (git_repo / "ai-skills.lock.json").exists()
    assert not (git_repo / ".ai-skills/skills/s1").exists()
    assert (git_repo / ".skills").read_text() == "# mine\n"
    assert links_under(git_repo) == {}


def test_links_recorded_by_an_older_add_global_are_taken_over_as_its_own(
    source: Path, tmp_path: Path, isolated_home: Path
) -> None:
    from ai_skills.deploy.engine import Record, read_record

    assert run(tmp_path, "add", "--global", url_of(source), "-s", "s1").returncode == 0
    state = Path(os.environ["XDG_STATE_HOME"]) / "ai-skills"
    links = read_record(state / "global/links.json").links
    # Before the record was shared: add --global kept its own, and deploy --global had
    # adopted the same links into its record (entries without an owner).
    (state / "installed").mkdir()
    (state / "installed/links.json").write_text(Record(dict(links), {}, {}, {}).to_json())
    (state / "global/links.json").write_text(Record(dict(links), {}, {}, {}).to_json())
    assert run(tmp_path, "install", "--global").returncode == 0
    assert not (state / "installed").joinpath("links.json").exists()
    assert run(tmp_path, "deploy", "--global", "--skill", "review-gate").returncode == 0
    assert all(os.path.islink(target) for target in links)
    assert run(tmp_path, "check", "--global", "--offline").returncode == 0
