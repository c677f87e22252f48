"""modules/ai-skills.nix inside the real home-manager (tests/nix/hm-eval.nix): the links,
variables and assertions it yields, with home-manager's own files.nix deciding targets and
collisions, and following what home-manager's claude-code, codex and opencode modules do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from hm_helpers import HOME, HomeManager, ai_skills, ours, write_skill
from nix_helpers import REPO

pytestmark = pytest.mark.nix


def our_packages(result: dict[str, Any]) -> list[str]:
    return [p for p in result["packages"] if "from-callPackage" in p]


def test_disabled_module_generates_nothing(hm: HomeManager, catalogs: dict[str, Path]) -> None:
    config = ai_skills(catalogs, skills=["alpha"])
    config["services"]["ai-skills"]["enable"] = False
    result = hm.evaluate(config)
    assert ours(result) == {}
    assert our_packages(result) == []
    assert result["failedAssertions"] == []
    assert "AI_SKILLS_PATH" not in result["sessionVariables"]


def test_one_directory_link_per_skill_per_agent(hm: HomeManager, catalogs: dict[str, Path]) -> None:
    result = hm.evaluate(ai_skills(catalogs, skills=["alpha", "gamma"]))
    mine, team = catalogs["mine"], catalogs["team"]
    assert ours(result) == {
        ".claude/skills/alpha": f"{mine}/alpha",
        ".claude/skills/gamma": f"{team}/gamma",
        ".codex/skills/alpha": f"{mine}/alpha",
        ".codex/skills/gamma": f"{team}/gamma",
        ".config/opencode/skills/alpha": f"{mine}/alpha",
        ".config/opencode/skills/gamma": f"{team}/gamma",
    }
    assert not any(f["recursive"] for f in result["files"].values())
    assert "CODEX_HOME" not in result["sessionVariables"]
    assert our_packages(result) == ["ai-skills-from-callPackage", "worker-from-callPackage"]
    assert result["failedAssertions"] == []
    assert result["warnings"] == []


def test_per_agent_lists_override_skills_and_empty_means_nothing(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    agents = {"opencode": {"skills": []}, "codex": {"skills": ["beta", "gamma"]}}
    result = hm.evaluate(ai_skills(catalogs, skills=["alpha"], agents=agents))
    assert sorted(ours(result)) == [
        ".claude/skills/alpha",
        ".codex/skills/beta",
        ".codex/skills/gamma",
    ]


def test_old_per_agent_option_names_still_work_with_a_warning(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    result = hm.evaluate(ai_skills(catalogs, claudeSkills=["beta"], opencodeSkills=[],
                                   codexSkills=[]))  # fmt: skip
    assert sorted(ours(result)) == [".claude/skills/beta"]
    assert any("claudeSkills" in w and "agents.claude.skills" in w for w in result["warnings"])


def test_a_disabled_agent_gets_nothing(hm: HomeManager, catalogs: dict[str, Path]) -> None:
    agents = {"codex": {"enable": False}, "agents": {"enable": True}}
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"], agents=agents))
    assert sorted(ours(result)) == [
        ".agents/skills/beta",
        ".claude/skills/beta",
        ".config/opencode/skills/beta",
    ]


def test_any_agent_of_the_table_can_be_enabled_and_shared_folders_share_links(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    agents = {name: {"enable": True} for name in ("gemini-cli", "agents", "cline")}
    agents.update({name: {"enable": False} for name in ("claude", "opencode", "codex")})
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"], agents=agents))
    assert sorted(ours(result)) == [".agents/skills/beta", ".gemini/skills/beta"]
    assert result["failedAssertions"] == []


def test_codex_home_inside_home_is_declarative_and_exported(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    settings = ai_skills(catalogs, skills=[], agents={"codex": {"skills": ["beta"]}},
                         codexHome=f"{HOME}/work/codex")  # fmt: skip
    result = hm.evaluate(settings)
    assert ours(result) == {"work/codex/skills/beta": f"{catalogs['mine']}/beta"}
    assert result["sessionVariables"]["CODEX_HOME"] == f"{HOME}/work/codex"


@pytest.mark.parametrize(
    ("codex_home", "target"),
    [
        (f"{HOME}/", "skills/beta"),
        (f"{HOME}/.codex/", ".codex/skills/beta"),
        (f"{HOME}//work/./codex", "work/codex/skills/beta"),
        (f"{HOME}/a/../codex", "codex/skills/beta"),
    ],
)
def test_codex_home_is_normalised(
    hm: HomeManager, catalogs: dict[str, Path], codex_home: str, target: str
) -> None:
    settings = ai_skills(catalogs, skills=[], agents={"codex": {"skills": ["beta"]}},
                         codexHome=codex_home)  # fmt: skip
    result = hm.evaluate(settings)
    assert ours(result) == {target: f"{catalogs['mine']}/beta"}
    assert result["failedAssertions"] == []


def test_codex_home_that_leaves_home_through_dot_dot_is_outside(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    settings = ai_skills(catalogs, skills=[], agents={"codex": {"skills": ["beta"]}},
                         codexHome=f"{HOME}/../x")  # fmt: skip
    result = hm.evaluate(settings)
    assert ours(result) == {}
    assert result["sessionVariables"]["CODEX_HOME"] == "/home/x"
    assert "/home/x/skills/beta" in result["activation"]["aiSkillsDeploy"]["data"]


def test_trailing_slash_codex_home_still_meets_programs_codex(
    hm: HomeManager, catalogs: dict[str, Path], tmp_path: Path
) -> None:
    # `.codex//skills/beta` would slip past home-manager's duplicate check; ours names it.
    settings = ai_skills(catalogs, skills=["beta"], codexHome=f"{HOME}/.codex/")
    codex = {"programs": {"codex": {"enable": True, "package": None,
                                    "skills": {"beta": "---\nname: beta\n---\n"}}}}  # fmt: skip
    result = hm.evaluate(settings, codex)
    assert len(result["failedAssertions"]) == 1
    assert "programs.codex.skills" in result["failedAssertions"][0]


def test_relative_codex_home_fails_an_assertion(hm: HomeManager, catalogs: dict[str, Path]) -> None:
    result = hm.evaluate(ai_skills(catalogs, codexHome="codex"))
    assert result["failedAssertions"] == [
        "services.ai-skills.codexHome must be an absolute path, not 'codex'."
    ]


def test_direnv_ships_use_skills_and_points_ai_skills_path_at_the_catalog(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    result = hm.evaluate(ai_skills(catalogs, skills=[], direnv={"enable": True}))
    assert ours(result) == {".config/direnv/lib/ai-skills.sh": str(REPO / "bin/use_skills.sh")}
    catalog_path = result["sessionVariables"]["AI_SKILLS_PATH"]
    assert catalog_path.startswith("/nix/store/")
    # The stand-in's linkFarm puts its entry names in the path: every skill, shadowing applied.
    bundled = sorted(p.parent.name for p in (REPO / "skills").glob("*/SKILL.md"))
    names = sorted({"alpha", "beta", "gamma", *bundled})
    assert catalog_path.endswith("-ai-skills-catalog-" + "+".join(names))


def test_without_direnv_no_catalog_variable(hm: HomeManager, catalogs: dict[str, Path]) -> None:
    result = hm.evaluate(ai_skills(catalogs, skills=["alpha"]))
    assert "AI_SKILLS_PATH" not in result["sessionVariables"]
    assert ".config/direnv/lib/ai-skills.sh" not in result["files"]


def test_unknown_and_invalid_names_fail_assertions_naming_the_option(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    agents = {"claude": {"skills": ["alpah", "Bad_Name"]}}
    result = hm.evaluate(ai_skills(catalogs, skills=["alpha"], agents=agents))
    messages = result["failedAssertions"]
    assert len(messages) == 2
    assert messages[0].startswith("services.ai-skills.agents.claude.skills: unknown skill 'alpah'")
    assert "available skills: alpha, beta, gamma" in messages[0]
    assert messages[1].startswith(
        "services.ai-skills.agents.claude.skills: invalid skill name 'Bad_Name'"
    )


def test_broken_skill_folders_fail_assertions(hm: HomeManager, tmp_path: Path) -> None:
    catalog = tmp_path / "broken"
    (catalog / "hollow").mkdir(parents=True)
    write_skill(catalog, "wrong", front_name="right")
    (catalog / "bare").mkdir()
    (catalog / "bare" / "SKILL.md").write_text("# no front matter\n")
    settings = {"enable": True, "extraSkillDirs": [str(catalog)],
                "skills": ["hollow", "wrong", "bare"]}  # fmt: skip
    result = hm.evaluate({"services": {"ai-skills": settings}})
    messages = result["failedAssertions"]
    assert len(messages) == 3
    expected = (
        f"{catalog}/bare/SKILL.md: does not start with a `---` front matter block",
        f"skill folder {catalog}/hollow has no SKILL.md",
        f"{catalog}/wrong/SKILL.md: name 'right' does not match its folder name 'wrong'",
    )
    for fragment in expected:
        assert sum(fragment in m for m in messages) == 1, fragment
    prefix = "services.ai-skills.agents.{claude,opencode,codex}.skills: "
    assert all(m.startswith(prefix) for m in messages), messages
    assert ours(result) == {}


def test_every_option_has_a_type_description_default_and_example(hm: HomeManager) -> None:
    expr = (
        "let lib = r.lib; docs = lib.optionAttrSetToDocList r.options.services.ai-skills; in "
        "map (o: { inherit (o) name; missing = builtins.filter (k: !(o ? ${k})) "
        '[ "type" "description" "default" "example" ]; }) '
        "(builtins.filter (o: o.visible && !o.internal) docs)"
    )
    docs = hm.json([], expr)
    names = {d["name"] for d in docs}
    assert {"services.ai-skills.enable", "services.ai-skills.codexHome",
            "services.ai-skills.agents.claude.mode"} <= names  # fmt: skip
    # A skill's name and a source's path are required: they have no default on purpose.
    required = {"services.ai-skills.skills.*.name", "services.ai-skills.sources.<name>.path"}
    assert [d for d in docs if d["missing"] and d["name"] not in required] == []
    assert all(d["missing"] == ["default"] for d in docs if d["name"] in required)


def test_the_options_table_in_the_docs_lists_every_option(hm: HomeManager) -> None:
    expr = (
        "map (o: o.name) (builtins.filter (o: o.visible && !o.internal) "
        "(r.lib.optionAttrSetToDocList r.options.services.ai-skills))"
    )
    prefix = "services.ai-skills."
    options = set()
    for name in hm.json([], expr):
        short = name.removeprefix(prefix)
        short = re.sub(r"^agents\.[a-z0-9-]+", "agents.<agent>", short)
        options.add(short)
    # Parents of documented sub-options, and the parts of a `skills` entry (documented in the
    # `skills` row itself).
    options -= {"sources", "agents.<agent>", "skills.*.name", "skills.*.agents", "skills.*.text"}
    text = (REPO / "docs" / "deploying.md").read_text(encoding="utf-8")
    table = text[text.index("| option | default | meaning |") :].split("\n\n")[0]
    documented = set()
    for row in table.splitlines()[2:]:
        documented.update(re.findall(r"`([^`]+)`", row.split("|")[1]))
    assert documented == options
