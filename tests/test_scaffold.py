"""`ai-skills new`: scaffolds pass our strict validator and the reference one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from skills_ref.validator import validate as reference_validate

from ai_skills.errors import UsageError
from ai_skills.skills.scaffold import TEMPLATES, TargetExistsError, new_skill, yaml_string


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize(
    "description",
    ["Formats PDF files.", "Use when: the user says 'ship it' # really", "Ünïcode — ok"],
)
def test_new_skill_is_valid_for_us_and_the_reference(
    tmp_path: Path, template: str, description: str
) -> None:
    target, report = new_skill(tmp_path, "pdf-tools", template=template, description=description)
    assert report.ok and report.problems == []
    assert report.description == description
    assert reference_validate(target) == []


def test_with_scripts_template_has_an_executable_script_with_help(tmp_path: Path) -> None:
    target, _ = new_skill(tmp_path, "pdf-tools", template="with-scripts", description="x y")
    script = target / "scripts" / "pdf-tools.sh"
    assert script.stat().st_mode & 0o111
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("Usage: pdf-tools.sh")
    assert (target / "references" / "details.md").is_file()


def test_refuses_to_overwrite_and_leaves_no_staging(tmp_path: Path) -> None:
    (tmp_path / "pdf-tools").mkdir()
    (tmp_path / "pdf-tools" / "mine.txt").write_text("keep")
    with pytest.raises(TargetExistsError, match="already exists"):
        new_skill(tmp_path, "pdf-tools", template="basic", description="x")
    assert (tmp_path / "pdf-tools" / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pdf-tools"]


@pytest.mark.parametrize(("name", "template"), [("Bad", "basic"), ("a/b", "basic"),
                                                ("ok-name", "fancy")])
def test_bad_input_is_a_usage_error(tmp_path: Path, name: str, template: str) -> None:
    with pytest.raises(UsageError):
        new_skill(tmp_path, name, template=template, description="x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "expected"), [
    ("Plain words, fine.", "Plain words, fine."),
    ("has: colon", '"has: colon"'),
    ("- leading dash", '"- leading dash"'),
    ("yes", "yes"),
])
def test_yaml_string_quotes_only_when_needed(value: str, expected: str) -> None:
    import yaml

    assert yaml_string(value) == expected
    assert yaml.compose(f"k: {yaml_string(value)}").value[0][1].value == value
