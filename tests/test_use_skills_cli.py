"""The use-skills command: output, exit codes, --check/--dry-run/--json, and the no-op path."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.helpers import links_under, make_catalog
from tests.test_use_skills import run_use_skills


@pytest.fixture
def setup(git_repo: Path, tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """(repo listing alpha, env, catalog with alpha/beta)."""
    catalog = make_catalog(tmp_path / "catalog", ["alpha", "beta"])
    env = dict(os.environ, AI_SKILLS_PATH=str(catalog))
    (git_repo / ".skills").write_text("alpha\n")
    return git_repo, env, catalog


def test_one_line_per_change_then_silence(setup: tuple[Path, dict[str, str], Path]) -> None:
    repo, env, catalog = setup
    first = run_use_skills(repo, env)
    assert first.returncode == 0
    assert first.stdout == ""
    assert first.stderr.splitlines() == [
        f"use-skills: linked .claude/skills/alpha -> {catalog / 'alpha'}",
        f"use-skills: linked .opencode/skills/alpha -> {catalog / 'alpha'}",
    ]
    second = run_use_skills(repo, env)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")


def test_check_exits_1_when_out_of_sync_and_changes_nothing(
    setup: tuple[Path, dict[str, str], Path],
) -> None:
    repo, env, _ = setup
    result = run_use_skills(repo, env, "--check")
    assert result.returncode == 1
    assert "would link .claude/skills/alpha" in result.stderr
    assert links_under(repo) == {}
    run_use_skills(repo, env)
    assert run_use_skills(repo, env, "--check").returncode == 0


def test_dry_run_json_lists_planned_steps(setup: tuple[Path, dict[str, str], Path]) -> None:
    repo, env, catalog = setup
    result = run_use_skills(repo, env, "--dry-run", "--json")
    data = json.loads(result.stdout)
    assert data["planned"] is True and data["would_change"] is True
    assert {(s["action"], s["target"]) for s in data["steps"]} == {
        ("create", str(repo / ".claude/skills/alpha")),
        ("create", str(repo / ".opencode/skills/alpha")),
    }
    assert links_under(repo) == {}


def test_error_exit_1_after_applying_what_was_safe(
    setup: tuple[Path, dict[str, str], Path],
) -> None:
    repo, env, _ = setup
    (repo / ".skills").write_text("alpha\nreveiw-gate\n")
    result = run_use_skills(repo, env)
    assert result.returncode == 1
    assert (
        "use-skills: error: .skills:2: unknown skill 'reveiw-gate' (did you mean 'review-gate'?)"
        in result.stderr
    )
    assert ".claude/skills/alpha" in links_under(repo)
    # Errors are repeated on every run until fixed: an error state never takes the quiet path.
    assert "reveiw-gate" in run_use_skills(repo, env).stderr


def test_real_folder_in_the_way_is_reported_with_the_way_out(
    setup: tuple[Path, dict[str, str], Path],
) -> None:
    repo, env, _ = setup
    (repo / ".claude/skills/alpha").mkdir(parents=True)
    result = run_use_skills(repo, env)
    assert result.returncode == 1
    assert "use-skills: error: .claude/skills/alpha: a real folder is in the way" in result.stderr
    assert "move it aside" in result.stderr


def test_agents_option_and_unknown_agent(setup: tuple[Path, dict[str, str], Path]) -> None:
    repo, env, _ = setup
    assert run_use_skills(repo, env, "--agents", "claude,agents").returncode == 0
    assert set(links_under(repo)) == {".claude/skills/alpha", ".agents/skills/alpha"}
    bad = run_use_skills(repo, env, "--agents", "curser")
    assert bad.returncode == 2
    assert "unknown agent 'curser' (did you mean 'cursor'?)" in bad.stderr
    # Codex without CODEX_HOME reads the repo's .agents/skills, which Cursor shares: one link.
    shared = run_use_skills(repo, env, "--agents", "codex,cursor")
    assert shared.returncode == 0, shared.stderr
    assert set(links_under(repo)) == {".claude/skills/alpha", ".agents/skills/alpha"}


def test_agents_not_named_keep_their_links(setup: tuple[Path, dict[str, str], Path]) -> None:
    repo, env, _ = setup
    run_use_skills(repo, env)
    (repo / ".skills").write_text("beta\n")
    assert run_use_skills(repo, env, "--agents", "claude").returncode == 0
    assert set(links_under(repo)) == {".claude/skills/beta", ".opencode/skills/alpha"}


def test_help_teaches_the_manifest_and_exit_codes() -> None:
    result = run_use_skills(Path.cwd(), dict(os.environ), "--help")
    assert result.returncode == 0
    for words in (".skills", "CODEX_HOME", "AI_SKILLS_PATH", "exit status", "--check"):
        assert words in result.stdout


# Each change below must be noticed by the quiet no-op check and lead to a full sync.
def _edit_manifest(repo: Path, catalog: Path, env: dict[str, str]) -> None:
    (repo / ".skills").write_text("alpha\nbeta\n")


def _delete_link(repo: Path, catalog: Path, env: dict[str, str]) -> None:
    (repo / ".claude/skills/alpha").unlink()


def _shadow_in_earlier_dir(repo: Path, catalog: Path, env: dict[str, str]) -> None:
    earlier = make_catalog(catalog.parent / "earlier", ["alpha"])
    env["AI_SKILLS_PATH"] = f"{earlier}:{catalog}"


def _edit_skill(repo: Path, catalog: Path, env: dict[str, str]) -> None:
    time.sleep(0.01)
    (catalog / "alpha" / "SKILL.md").write_text("---\nname: alpha\n---\nno description\n")


def _set_codex_home(repo: Path, catalog: Path, env: dict[str, str]) -> None:
    env["CODEX_HOME"] = str(repo / ".codex")


def _drop_exclude_block(repo: Path, catalog: Path, env: dict[str, str]) -> None:
    (repo / ".git/info/exclude").write_text("")


@pytest.mark.parametrize(
    ("change", "expect_in_stderr"),
    [
        (_edit_manifest, "linked .claude/skills/beta"),
        (_delete_link, "linked .claude/skills/alpha"),
        (_shadow_in_earlier_dir, "relinked .claude/skills/alpha"),
        (_edit_skill, "skill 'alpha' not linked"),
        (_set_codex_home, "linked .codex/skills/alpha"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] or None,
)
def test_quiet_path_notices_every_input_change(
    setup: tuple[Path, dict[str, str], Path], change: object, expect_in_stderr: str
) -> None:
    repo, env, catalog = setup
    run_use_skills(repo, env)
    assert run_use_skills(repo, env).stderr == ""
    change(repo, catalog, env)  # type: ignore[operator]
    assert expect_in_stderr in run_use_skills(repo, env).stderr


def test_quiet_path_notices_a_dropped_exclude_block(
    setup: tuple[Path, dict[str, str], Path],
) -> None:
    repo, env, catalog = setup
    run_use_skills(repo, env)
    _drop_exclude_block(repo, catalog, env)
    run_use_skills(repo, env)
    assert "/.claude/skills/alpha" in (repo / ".git/info/exclude").read_text()


def test_bare_run_defaults_equal_the_parser_defaults() -> None:
    from ai_skills.cli.use_skills import DEFAULT_ARGS, build_parser

    assert vars(build_parser().parse_args([])) == vars(DEFAULT_ARGS)


def test_verbose_also_lists_unchanged_links(setup: tuple[Path, dict[str, str], Path]) -> None:
    repo, env, _ = setup
    run_use_skills(repo, env)
    result = run_use_skills(repo, env, "--verbose")
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "use-skills: unchanged .claude/skills/alpha",
        "use-skills: unchanged .opencode/skills/alpha",
    ]


def test_a_copied_repo_is_synced_not_taken_for_a_no_op(
    setup: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    # `cp -a` copies .git/ai-skills/stamp.marshal too; every path in it names the original.
    import shutil

    repo, env, catalog = setup
    run_use_skills(repo, env)
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, symlinks=True)
    (copy / ".skills").write_text("beta\n")
    result = run_use_skills(copy, env)
    assert result.returncode == 0
    assert f"linked .claude/skills/beta -> {catalog / 'beta'}" in result.stderr
    assert (copy / ".claude/skills/beta").resolve() == catalog / "beta"
