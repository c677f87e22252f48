"""Where skills come from and who gets them, inside the real home-manager: skill folders that
are checked before use, `sources` (paths and flake inputs, `subdir`, `enableAll`), per-skill
agents and inline `text` skills judged by the same rules and vectors as the Python side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from global_selection_vectors import VECTOR_DIR
from hm_helpers import HomeManager, ai_skills, ours, write_skill

pytestmark = pytest.mark.nix


def enabled(**settings: Any) -> dict[str, Any]:
    return {"services": {"ai-skills": {"enable": True, **settings}}}


# ---- extraSkillDirs ------------------------------------------------------------------------


def test_a_missing_extra_skill_dir_is_an_assertion_naming_it(
    hm: HomeManager, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-folder"
    result = hm.evaluate(enabled(extraSkillDirs=[str(missing)], skills=["review-gate"]))
    assert result["failedAssertions"] == [
        f"services.ai-skills.extraSkillDirs: {missing} does not exist."
    ]


def test_a_file_as_extra_skill_dir_is_an_assertion_not_a_raw_error(
    hm: HomeManager, tmp_path: Path
) -> None:
    file = tmp_path / "skills.txt"
    file.write_text("not a folder\n")
    result = hm.evaluate(enabled(extraSkillDirs=[str(file)], skills=["review-gate"]))
    assert result["failedAssertions"] == [
        f"services.ai-skills.extraSkillDirs: {file} is not a folder."
    ]


def test_a_linked_extra_skill_dir_is_followed(hm: HomeManager, tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_skill(real, "alpha")
    (tmp_path / "linked").symlink_to(real)
    result = hm.evaluate(enabled(extraSkillDirs=[str(tmp_path / "linked")], skills=["alpha"]))
    assert result["failedAssertions"] == []
    assert ".claude/skills/alpha" in ours(result)


# ---- sources -------------------------------------------------------------------------------


@pytest.fixture
def team_repo(tmp_path: Path) -> Path:
    """A checkout (or flake input) with skills under `skills/`: delta, epsilon."""
    repo = tmp_path / "team-repo"
    for name in ("delta", "epsilon"):
        write_skill(repo / "skills", name)
    (repo / "README.md").write_text("team skills\n")
    return repo


def test_a_source_with_subdir_adds_its_skills_to_the_catalog(
    hm: HomeManager, team_repo: Path
) -> None:
    sources = {"team": {"path": str(team_repo), "subdir": "skills"}}
    result = hm.evaluate(enabled(sources=sources, skills=["delta"]))
    assert ours(result)[".claude/skills/delta"] == str(team_repo / "skills/delta")
    assert ".claude/skills/epsilon" not in ours(result)


def test_a_flake_input_shaped_source_works(hm: HomeManager, team_repo: Path) -> None:
    flake_input = {"outPath": str(team_repo), "narHash": "sha256-x", "_type": "flake"}
    sources = {"team": {"path": flake_input, "subdir": "skills"}}
    result = hm.evaluate(enabled(sources=sources, skills=["epsilon"]))
    assert ".claude/skills/epsilon" in ours(result)


def test_enable_all_selects_every_skill_of_the_source_for_every_agent(
    hm: HomeManager, team_repo: Path
) -> None:
    sources = {"team": {"path": str(team_repo), "subdir": "skills", "enableAll": True}}
    result = hm.evaluate(enabled(sources=sources))
    assert sorted(t for t in ours(result) if t.startswith(".claude")) == [
        ".claude/skills/delta",
        ".claude/skills/epsilon",
    ]
    assert ".codex/skills/delta" in ours(result)


@pytest.mark.parametrize("subdir", ["../escape", "/abs", "skills/../../x"])
def test_a_subdir_must_stay_inside_its_source(
    hm: HomeManager, team_repo: Path, subdir: str
) -> None:
    sources = {"team": {"path": str(team_repo), "subdir": subdir}}
    result = hm.evaluate(enabled(sources=sources))
    assert len(result["failedAssertions"]) == 1
    assert "services.ai-skills.sources.team.subdir" in result["failedAssertions"][0]


def test_a_missing_source_subdir_is_an_assertion(hm: HomeManager, team_repo: Path) -> None:
    sources = {"team": {"path": str(team_repo), "subdir": "skill"}}
    result = hm.evaluate(enabled(sources=sources))
    assert result["failedAssertions"] == [
        f"services.ai-skills.sources.team: {team_repo}/skill does not exist."
    ]


# ---- per-skill agents and inline skills ---------------------------------------------------


def test_per_skill_agents_limit_where_a_skill_goes(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    skills = ["alpha", {"name": "beta", "agents": ["claude"]}, {"name": "gamma", "agents": []}]
    result = hm.evaluate(ai_skills(catalogs, skills=skills))
    assert sorted(ours(result)) == [
        ".claude/skills/alpha",
        ".claude/skills/beta",
        ".codex/skills/alpha",
        ".config/opencode/skills/alpha",
    ]


def test_an_unknown_agent_in_a_skill_is_a_type_error(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    proc = hm.run([ai_skills(catalogs, skills=[{"name": "beta", "agents": ["clade"]}])])
    assert proc.returncode != 0
    assert "clade" in proc.stderr and "services.ai-skills.skills" in proc.stderr


def test_an_inline_skill_becomes_a_folder_with_its_skill_md(hm: HomeManager) -> None:
    text = "---\nname: notes\ndescription: My notes.\n---\n\nBody.\n"
    result = hm.evaluate(enabled(skills=[{"name": "notes", "text": text, "agents": ["codex"]}]))
    assert result["failedAssertions"] == []
    assert sorted(ours(result)) == [".codex/skills/notes"]
    body = (
        '(builtins.head (builtins.filter (f: f.target == ".codex/skills/notes") '
        "(builtins.attrValues r.config.home.file))).source"
    )
    source = hm.json([enabled(skills=[{"name": "notes", "text": text}])],
                     f"{{ inherit ({body}) destination text; }}")  # fmt: skip
    assert source == {"destination": "/SKILL.md", "text": text}


def inline_vector_cases() -> list[tuple[str, str, str | None]]:
    """(name, SKILL.md text, expected error kind) from the shared front matter vectors."""
    vector = json.loads((VECTOR_DIR / "front_matter_rules.json").read_text(encoding="utf-8"))
    kinds = {e["skill"]: e["kind"] for e in vector["expected"]["errors"]}
    return [
        (name, files["SKILL.md"], kinds.get(name))
        for name, files in vector["catalog"][0]["skills"].items()
        if "SKILL.md" in files
    ]


def test_inline_skills_are_judged_by_the_shared_front_matter_vectors(hm: HomeManager) -> None:
    cases = inline_vector_cases()
    skills = [{"name": name, "text": text, "agents": ["claude"]} for name, text, _ in cases]
    result = hm.evaluate(enabled(skills=skills))
    failing = {
        name: kind
        for name, _, kind in cases
        for message in result["failedAssertions"]
        if f"inline skill '{name}'" in message
    }
    assert failing == {name: kind for name, _, kind in cases if kind is not None}
    assert all(
        ("does not match" in m) == (failing.get(m.split("'")[1]) == "name-mismatch")
        for m in result["failedAssertions"]
    )
    linked = {t.rsplit("/", 1)[1] for t in ours(result)}
    assert linked == {name for name, _, kind in cases if kind is None}


def test_an_inline_skill_shadows_a_catalog_skill_of_the_same_name(hm: HomeManager) -> None:
    text = "---\nname: review-gate\ndescription: Mine.\n---\n"
    result = hm.evaluate(enabled(skills=[{"name": "review-gate", "text": text}]))
    assert result["failedAssertions"] == []
    assert ours(result)[".claude/skills/review-gate"].endswith("-review-gate")


def test_the_same_skill_listed_twice_with_different_settings_is_an_assertion(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    skills = ["alpha", {"name": "alpha", "agents": ["claude"]}]
    result = hm.evaluate(ai_skills(catalogs, skills=skills))
    assert len(result["failedAssertions"]) == 1
    assert "'alpha'" in result["failedAssertions"][0]
