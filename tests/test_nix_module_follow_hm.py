"""The module follows home-manager's own settings (where Codex and Claude Code read skills)
and meets home-manager's `programs.<agent>.skills` with named assertions, not raw conflicts,
evaluated inside the real home-manager (tests/nix/hm-eval.nix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hm_helpers import HOME, HomeManager, ai_skills, ours, write_skill
from nix_helpers import NixCode, nix_path

pytestmark = pytest.mark.nix

SKILL_TEXT = "---\nname: {name}\ndescription: Theirs.\n---\n"


def codex(**settings: Any) -> dict[str, Any]:
    return {"programs": {"codex": {"enable": True, "package": None, **settings}}}


def claude_code(**settings: Any) -> dict[str, Any]:
    return {"programs": {"claude-code": {"enable": True, "package": None, **settings}}}


def opencode(**settings: Any) -> dict[str, Any]:
    return {"programs": {"opencode": {"enable": True, "package": None, **settings}}}


XDG = {"home": {"preferXdgDirectories": True}}
PROGRAMS = [
    (codex, "programs.codex.skills"),
    (opencode, "programs.opencode.skills"),
    (claude_code, "programs.claude-code.skills"),
]


# ---- where the folders are -------------------------------------------------------------


def test_codex_with_xdg_directories_gets_its_skills_in_config_codex(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), codex(), XDG)
    assert result["sessionVariables"]["CODEX_HOME"] == f"{HOME}/.config/codex"
    assert ".config/codex/skills/beta" in ours(result)
    assert ".codex/skills/beta" not in ours(result)
    assert result["failedAssertions"] == []


def test_xdg_directories_without_programs_codex_leave_codex_at_home(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), XDG)
    assert ".codex/skills/beta" in ours(result)
    assert "CODEX_HOME" not in result["sessionVariables"]


def test_claude_code_config_dir_moves_the_claude_links(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    moved = claude_code(configDir=f"{HOME}/.config/claude")
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), moved)
    assert result["sessionVariables"]["CLAUDE_CONFIG_DIR"] == f"{HOME}/.config/claude"
    assert ".config/claude/skills/beta" in ours(result)
    assert ".claude/skills/beta" not in ours(result)


def test_a_session_variable_set_by_hand_moves_the_folder_too(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    variables = {"home": {"sessionVariables": {"CLAUDE_CONFIG_DIR": "$HOME/claude"}}}
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), variables)
    assert "claude/skills/beta" in ours(result)


def test_gemini_cli_home_moves_the_gemini_links_below_it(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    # Gemini CLI 0.61 reads $GEMINI_CLI_HOME/.gemini/skills (its home, not its config folder).
    variables = {"home": {"sessionVariables": {"GEMINI_CLI_HOME": "$HOME/gem"}}}
    agents = {"gemini-cli": {"enable": True}}
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"], agents=agents), variables)
    assert "gem/.gemini/skills/beta" in ours(result)
    assert ".gemini/skills/beta" not in ours(result)
    assert result["failedAssertions"] == []


def test_a_variable_only_the_shell_can_expand_is_an_assertion(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    variables = {"home": {"sessionVariables": {"CLAUDE_CONFIG_DIR": "$XDG_RUNTIME_DIR/claude"}}}
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), variables)
    assert len(result["failedAssertions"]) == 1
    message = result["failedAssertions"][0]
    assert "CLAUDE_CONFIG_DIR" in message and "$XDG_RUNTIME_DIR/claude" in message


def test_codex_home_that_disagrees_with_programs_codex_names_both(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    settings = ai_skills(catalogs, skills=["beta"], codexHome=f"{HOME}/codex")
    result = hm.evaluate(settings, codex(), XDG)
    assert len(result["failedAssertions"]) == 1
    message = result["failedAssertions"][0]
    assert f"{HOME}/codex" in message and f"{HOME}/.config/codex" in message
    assert "services.ai-skills.codexHome" in message


def test_codex_home_that_agrees_with_programs_codex_is_fine(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    settings = ai_skills(catalogs, skills=["beta"], codexHome=f"{HOME}/.config/codex/")
    result = hm.evaluate(settings, codex(), XDG)
    assert result["failedAssertions"] == []
    assert ".config/codex/skills/beta" in ours(result)


# ---- programs.<agent>.skills -------------------------------------------------------------


@pytest.mark.parametrize(("program", "option"), PROGRAMS)
def test_same_skill_in_programs_skills_is_a_named_assertion(
    hm: HomeManager, catalogs: dict[str, Path], tmp_path: Path, program: Any, option: str
) -> None:
    theirs = write_skill(tmp_path / "theirs", "beta")
    result = hm.evaluate(ai_skills(catalogs, skills=["beta", "gamma"]),
                         program(skills={"beta": nix_path(theirs)}))  # fmt: skip
    assert len(result["failedAssertions"]) == 1, result["failedAssertions"]
    message = result["failedAssertions"][0]
    assert "'beta'" in message and option in message and "services.ai-skills" in message
    assert "gamma" not in message


def test_same_skill_as_text_in_programs_codex_skills_with_xdg(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    # home-manager writes this one as "/.config/codex/skills/beta", which its own duplicate
    # check would not match with ".config/codex/skills/beta".
    their = codex(skills={"beta": SKILL_TEXT.format(name="beta")})
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), their, XDG)
    assert len(result["failedAssertions"]) == 1
    assert "programs.codex.skills" in result["failedAssertions"][0]


def test_same_folder_in_programs_skills_is_skipped_with_a_warning(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    same = codex(skills={"beta": nix_path(catalogs["mine"] / "beta")})
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), same)
    assert result["failedAssertions"] == []
    assert any("'beta'" in w and "programs.codex.skills" in w for w in result["warnings"])
    assert ".claude/skills/beta" in ours(result)  # other agents still get it
    assert ours(result)[".codex/skills/beta"] == str(catalogs["mine"] / "beta")


def test_a_whole_folder_in_programs_claude_code_skills_lives_beside_ours(
    hm: HomeManager, catalogs: dict[str, Path], tmp_path: Path
) -> None:
    theirs = tmp_path / "theirs"
    write_skill(theirs, "delta")
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), claude_code(skills=nix_path(theirs)))
    assert result["failedAssertions"] == []
    assert result["files"][".claude/skills"]["recursive"] is True
    assert ".claude/skills/beta" in ours(result)


# A folder given as a path: claude-code and opencode link it file by file (our link would
# land inside their real `beta/` folder), codex links each of its entries.
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p[1])
def test_a_whole_folder_holding_the_same_name_is_a_named_assertion(
    hm: HomeManager, catalogs: dict[str, Path], tmp_path: Path, program: Any
) -> None:
    make, option = program
    theirs = tmp_path / "theirs"
    write_skill(theirs, "beta")
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), make(skills=nix_path(theirs)))
    assert len(result["failedAssertions"]) == 1
    assert option in result["failedAssertions"][0]


def test_no_collision_when_the_program_is_off_or_names_differ(
    hm: HomeManager, catalogs: dict[str, Path], tmp_path: Path
) -> None:
    theirs = write_skill(tmp_path / "theirs", "beta")
    off = {"programs": {"codex": {"enable": False, "skills": {"beta": nix_path(theirs)}}}}
    other = claude_code(skills={"other": SKILL_TEXT.format(name="other")})
    for extra in (off, other):
        result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), extra)
        assert result["failedAssertions"] == [], extra


def test_a_skills_folder_nix_must_build_first_gets_a_warning(
    hm: HomeManager, catalogs: dict[str, Path]
) -> None:
    built = NixCode('r.pkgs.runCommandLocal "my-skills" { } "mkdir $out"')
    result = hm.evaluate(ai_skills(catalogs, skills=["beta"]), claude_code(skills=built))
    assert result["failedAssertions"] == []
    assert any("programs.claude-code.skills" in w for w in result["warnings"])
