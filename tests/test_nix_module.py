"""modules/ai-skills.nix evaluated by real nix-instantiate in the home-manager stand-in
(tests/nix/hm-harness.nix): which links, activation steps, variables and assertions it yields."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nix_helpers import NIX_DIR, REPO, nix_json, to_nix

pytestmark = pytest.mark.nix

HOME = "/home/ada"


def write_skill(catalog: Path, name: str, *, front_name: str | None = None) -> Path:
    folder = catalog / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        f"---\nname: {front_name or name}\ndescription: The {name} skill.\n---\n"
    )
    return folder


@pytest.fixture
def catalogs(tmp_path: Path) -> dict[str, Path]:
    """Two extra catalog dirs: `mine` (alpha, beta) searched before `team` (alpha, gamma)."""
    mine, team = tmp_path / "mine", tmp_path / "team"
    for catalog, names in ((mine, ("alpha", "beta")), (team, ("alpha", "gamma"))):
        for name in names:
            write_skill(catalog, name)
    return {"mine": mine, "team": team}


def evaluate(settings: dict[str, Any], **harness: Any) -> dict[str, Any]:
    config = {"services": {"ai-skills": settings}}
    config.update(harness.pop("extra_config", {}))
    args = {"config": to_nix(config), **{k: to_nix(v) for k, v in harness.items()}}
    return nix_json(NIX_DIR / "hm-harness.nix", args=args)


def enabled(catalogs: dict[str, Path], **settings: Any) -> dict[str, Any]:
    dirs = [str(catalogs["mine"]), str(catalogs["team"])]
    return {"enable": True, "extraSkillDirs": dirs, **settings}


def test_disabled_module_generates_nothing(catalogs: dict[str, Path]) -> None:
    result = evaluate({"skills": ["alpha"], "extraSkillDirs": [str(catalogs["mine"])]})
    assert result["homeFiles"] == {}
    assert result["xdgConfigFiles"] == {}
    assert result["activation"] == {}
    assert result["packages"] == []
    assert result["failedAssertions"] == []


def test_one_directory_link_per_skill_per_agent(catalogs: dict[str, Path]) -> None:
    result = evaluate(enabled(catalogs, skills=["alpha", "gamma"]))
    mine, team = catalogs["mine"], catalogs["team"]
    assert result["homeFiles"] == {
        ".claude/skills/alpha": f"{mine}/alpha",
        ".claude/skills/gamma": f"{team}/gamma",
        ".codex/skills/alpha": f"{mine}/alpha",
        ".codex/skills/gamma": f"{team}/gamma",
    }
    assert result["xdgConfigFiles"] == {
        "opencode/skills/alpha": f"{mine}/alpha",
        "opencode/skills/gamma": f"{team}/gamma",
    }
    assert result["activation"] == {}
    assert "CODEX_HOME" not in result["sessionVariables"]
    assert result["packages"] == ["ai-skills-from-callPackage", "worker-from-callPackage"]
    assert result["failedAssertions"] == []


def test_per_agent_lists_override_skills_and_empty_means_nothing(
    catalogs: dict[str, Path],
) -> None:
    result = evaluate(
        enabled(catalogs, skills=["alpha"], opencodeSkills=[], codexSkills=["beta", "gamma"])
    )
    assert sorted(result["homeFiles"]) == [
        ".claude/skills/alpha",
        ".codex/skills/beta",
        ".codex/skills/gamma",
    ]
    assert result["xdgConfigFiles"] == {}


def test_codex_home_inside_home_is_declarative_and_exported(catalogs: dict[str, Path]) -> None:
    result = evaluate(enabled(catalogs, codexSkills=["beta"], codexHome=f"{HOME}/work/codex"))
    assert result["homeFiles"] == {"work/codex/skills/beta": f"{catalogs['mine']}/beta"}
    assert result["activation"] == {}
    assert result["sessionVariables"]["CODEX_HOME"] == f"{HOME}/work/codex"


def test_codex_home_outside_home_uses_an_activation_step(catalogs: dict[str, Path]) -> None:
    result = evaluate(enabled(catalogs, codexSkills=["alpha", "beta"], codexHome="/srv/codex"))
    assert result["homeFiles"] == {}
    assert result["sessionVariables"]["CODEX_HOME"] == "/srv/codex"
    step = result["activation"]["aiSkillsCodex"]
    assert step["after"] == ["linkGeneration"]
    script = step["data"]
    assert "aiSkillsDir='/srv/codex/skills'" in script
    link_lines = [line for line in script.splitlines() if line.startswith("aiSkillsLink ")]
    assert [line.split()[1] for line in link_lines] == ["'alpha'", "'beta'"]
    assert all(line.split()[2].startswith("'/nix/store/") for line in link_lines)
    assert f"{HOME}/.local/state/ai-skills/codex-links" in script


def test_codex_home_outside_home_with_empty_list_only_cleans_up(
    catalogs: dict[str, Path],
) -> None:
    result = evaluate(enabled(catalogs, codexSkills=[], codexHome="/srv/codex"))
    script = result["activation"]["aiSkillsCodex"]["data"]
    assert "aiSkillsLink '" not in script
    assert "mkdir" not in script
    assert "run rm -f" in script


def test_direnv_ships_use_skills_and_points_ai_skills_path_at_the_catalog(
    catalogs: dict[str, Path],
) -> None:
    result = evaluate(enabled(catalogs, skills=[], direnv={"enable": True}))
    assert result["xdgConfigFiles"]["direnv/lib/ai-skills.sh"] == str(REPO / "bin/use_skills.sh")
    catalog_path = result["sessionVariables"]["AI_SKILLS_PATH"]
    assert catalog_path.startswith("/nix/store/")
    # The stand-in's linkFarm puts its entry names in the path: every skill, shadowing applied.
    bundled = sorted(p.parent.name for p in (REPO / "skills").glob("*/SKILL.md"))
    names = sorted({"alpha", "beta", "gamma", *bundled})
    assert catalog_path.endswith("-ai-skills-catalog-" + "+".join(names))


def test_without_direnv_no_catalog_variable(catalogs: dict[str, Path]) -> None:
    result = evaluate(enabled(catalogs, skills=["alpha"]))
    assert "AI_SKILLS_PATH" not in result["sessionVariables"]
    assert "direnv/lib/ai-skills.sh" not in result["xdgConfigFiles"]


def test_unknown_and_invalid_names_fail_assertions_naming_the_option(
    catalogs: dict[str, Path],
) -> None:
    result = evaluate(enabled(catalogs, skills=["alpha"], claudeSkills=["alpah", "Bad_Name"]))
    messages = result["failedAssertions"]
    assert len(messages) == 2
    assert messages[0].startswith("services.ai-skills.claudeSkills: unknown skill 'alpah'")
    assert "available skills: alpha, beta, gamma" in messages[0]
    assert messages[1].startswith("services.ai-skills.claudeSkills: invalid skill name 'Bad_Name'")
    # The valid parts of the configuration still produce their links.
    assert ".codex/skills/alpha" in result["homeFiles"]


def test_broken_skill_folders_fail_assertions(tmp_path: Path) -> None:
    catalog = tmp_path / "broken"
    (catalog / "hollow").mkdir(parents=True)
    write_skill(catalog, "wrong", front_name="right")
    (catalog / "bare").mkdir()
    (catalog / "bare" / "SKILL.md").write_text("# no front matter\n")
    result = evaluate(
        {"enable": True, "extraSkillDirs": [str(catalog)], "skills": ["hollow", "wrong", "bare"]}
    )
    messages = result["failedAssertions"]
    assert len(messages) == 3
    expected = (
        f"{catalog}/bare/SKILL.md: does not start with a `---` front matter block",
        f"skill folder {catalog}/hollow has no SKILL.md",
        f"{catalog}/wrong/SKILL.md: name 'right' does not match its folder name 'wrong'",
    )
    for fragment in expected:
        assert sum(fragment in m for m in messages) == 1, fragment
    prefix = "services.ai-skills.{claudeSkills,opencodeSkills,codexSkills}: "
    assert all(m.startswith(prefix) for m in messages)
    assert result["homeFiles"] == {}


def test_relative_codex_home_fails_an_assertion(catalogs: dict[str, Path]) -> None:
    result = evaluate(enabled(catalogs, codexHome="codex"))
    assert result["failedAssertions"] == [
        "services.ai-skills.codexHome must be an absolute path, not 'codex'."
    ]


def test_same_skill_in_programs_claude_code_skills_fails_an_assertion(
    catalogs: dict[str, Path],
) -> None:
    claude_code = {"enable": True, "skills": {"alpha": "/x/alpha", "other": "/x/other"}}
    result = evaluate(
        enabled(catalogs, skills=["alpha", "beta"]),
        extra_config={"programs": {"claude-code": claude_code}},
        hmProgramsWithSkills=["claude-code", "codex", "opencode"],
    )
    assert result["failedAssertions"] == [
        "services.ai-skills.claudeSkills and programs.claude-code.skills both install skill "
        "'alpha' into ~/.claude/skills; keep it in only one of them."
    ]


def test_whole_skills_folder_from_programs_opencode_fails_an_assertion(
    catalogs: dict[str, Path],
) -> None:
    result = evaluate(
        enabled(catalogs, skills=["alpha"]),
        extra_config={"programs": {"opencode": {"enable": True, "skills": "/x/skills"}}},
        hmProgramsWithSkills=["opencode"],
    )
    assert len(result["failedAssertions"]) == 1
    assert "programs.opencode.skills manages that whole folder" in result["failedAssertions"][0]


@pytest.mark.parametrize(
    ("programs_with_skills", "claude_code"),
    [
        ([], {"enable": True, "skills": {"alpha": "/x/alpha"}}),  # option absent in this HM
        (["claude-code"], {"enable": False, "skills": {"alpha": "/x/alpha"}}),  # not enabled
        (["claude-code"], {"enable": True, "skills": {"other": "/x/other"}}),  # other names
    ],
)
def test_no_collision_reported_when_there_is_none(
    catalogs: dict[str, Path], programs_with_skills: list[str], claude_code: dict[str, Any]
) -> None:
    result = evaluate(
        enabled(catalogs, skills=["alpha"]),
        extra_config={"programs": {"claude-code": claude_code}},
        hmProgramsWithSkills=programs_with_skills,
    )
    assert result["failedAssertions"] == []


def test_every_option_is_documented() -> None:
    expr = (
        "let lib = import ./tests/nix/lib-shim.nix; "
        "m = import ./modules/ai-skills.nix { inherit lib; pkgs = { }; options = { }; "
        'config = { services.ai-skills = { }; home.homeDirectory = "/h"; }; }; '
        "opts = m.options.services.ai-skills; "
        "o = opts // { direnvEnable = opts.direnv.enable; }; "
        "in builtins.mapAttrs (_: v: { t = v ? type; d = v ? description; e = v ? example; "
        'f = v ? default; }) (removeAttrs o [ "direnv" ])'
    )
    result = nix_json(expr=expr)
    assert set(result) >= {"enable", "package", "skills", "claudeSkills", "codexHome"}
    missing = {name: flags for name, flags in result.items() if not all(flags.values())}
    assert missing == {}


def run_codex_activation(script: str, record_text: str, tmp_path: Path) -> str:
    """Run the generated activation step in bash, with home-manager's `run`/`warnEcho`."""
    record = tmp_path / "record-from-store"
    record.write_text(record_text)
    fake_record = "/nix/store/00000000000000000000000000000000-ai-skills-codex-links"
    assert fake_record in script
    prelude = 'set -euo pipefail\nrun() { "$@"; }\nwarnEcho() { echo "WARN: $*" >&2; }\n'
    proc = subprocess.run(
        ["bash", "-c", prelude + script.replace(fake_record, str(record))],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_codex_activation_links_records_and_removes_only_its_own(
    catalogs: dict[str, Path], tmp_path: Path
) -> None:
    home, codex = tmp_path / "home", tmp_path / "codex"
    skills_dir = codex / "skills"
    (skills_dir / ".system").mkdir(parents=True)
    (skills_dir / "beta").mkdir()  # the user's own folder, in the way of our 'beta'
    (skills_dir / "mine").symlink_to("/opt/elsewhere/mine")  # links we did not make
    (skills_dir / "delta").symlink_to("/nix/store/00000000000000000000000000000000-delta")

    def activate(names: list[str]) -> str:
        settings = enabled(catalogs, codexSkills=names, codexHome=str(codex))
        result = evaluate(settings, homeDirectory=str(home))
        script = result["activation"]["aiSkillsCodex"]["data"]
        return run_codex_activation(script, "".join(f"{n}\n" for n in names), tmp_path)

    def listing() -> list[str]:
        return sorted(p.name for p in skills_dir.iterdir())

    warnings = activate(["alpha", "beta", "gamma"])
    assert listing() == [".system", "alpha", "beta", "delta", "gamma", "mine"]
    assert os.readlink(skills_dir / "alpha").startswith("/nix/store/")
    assert os.readlink(skills_dir / "alpha").endswith("-ai-skills-skill-alpha")
    assert (skills_dir / "beta").is_dir() and not (skills_dir / "beta").is_symlink()
    assert "leaving" in warnings and "beta" in warnings
    record = home / ".local/state/ai-skills/codex-links"
    assert record.read_text().split() == ["alpha", "beta", "gamma"]

    activate(["alpha"])  # gamma goes; beta (the user's folder) and unrecorded links stay
    assert listing() == [".system", "alpha", "beta", "delta", "mine"]
    assert os.readlink(skills_dir / "mine") == "/opt/elsewhere/mine"

    activate([])
    assert listing() == [".system", "beta", "delta", "mine"]
    assert record.read_text() == ""
