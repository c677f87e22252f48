"""`validate_skill`: every Agent Skills rule, problem collection, line numbers, CLI wiring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_skills.cli.main import app
from ai_skills.skills.validation import (
    AGENT_EXTENSION_FIELDS,
    Problem,
    SkillReport,
    find_skill_folders,
    validate_skill,
    validate_skill_md,
)

GOOD_DESCRIPTION = "Checks a pull request before review. Use when asked to review code."


def write_skill(parent: Path, folder: str, content: str | bytes, *, filename: str = "SKILL.md"
                ) -> Path:
    """Create `parent/folder/filename` with `content` (bytes are written as-is)."""
    skill = parent / folder
    skill.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    (skill / filename).write_bytes(data)
    return skill


def front_matter(*lines: str, body: str = "# Usage\n\nDo the thing.\n") -> str:
    """A SKILL.md whose front matter holds `lines`, one YAML line each."""
    return "---\n" + "".join(line + "\n" for line in lines) + "---\n" + body


def skill_with(parent: Path, name: str, *extra: str, folder: str | None = None) -> Path:
    """A skill named `name` (folder defaults to the name) with a good description."""
    return write_skill(
        parent, folder or name,
        front_matter(f"name: {name}", f"description: {GOOD_DESCRIPTION}", *extra),
    )


def errors(report: SkillReport) -> list[str]:
    return [p.message for p in report.errors]


def warnings(report: SkillReport) -> list[str]:
    return [p.message for p in report.problems if p.severity == "warning"]


def only_error(report: SkillReport) -> Problem:
    """The single error of `report` (fails the test when there are more or none)."""
    assert len(report.errors) == 1, report.problems
    return report.errors[0]


# --- a good skill -----------------------------------------------------------------------


def test_minimal_skill_is_valid_and_reports_name_and_description(tmp_path: Path) -> None:
    skill = skill_with(tmp_path, "review-gate")

    report = validate_skill(skill, strict=True)

    assert report.ok
    assert report.problems == []
    assert report.name == "review-gate"
    assert report.description == GOOD_DESCRIPTION
    assert set(report.fields) == {"name", "description"}


def test_all_spec_fields_together_are_valid(tmp_path: Path) -> None:
    skill = skill_with(
        tmp_path, "pdf-tools",
        "license: Apache-2.0",
        "compatibility: Requires python3 and poppler-utils",
        "allowed-tools: Bash(pdftotext:*) Read",
        "metadata:",
        "  author: example-org",
        '  version: "1.0"',
    )

    report = validate_skill(skill, strict=True)

    assert report.problems == []
    assert report.fields["metadata"] == {"author": "example-org", "version": "1.0"}


# --- name -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a", "review-gate", "pdf2text", "123", "a-b-c-d", "x" * 64, "café"],
    ids=["one-letter", "hyphenated", "letters-and-digits", "digits-only", "many-hyphens",
         "exactly-64", "unicode-lowercase"],
)
def test_valid_names(tmp_path: Path, name: str) -> None:
    report = validate_skill(skill_with(tmp_path, name), strict=True)

    assert report.ok, report.problems
    assert report.name == name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x" * 65, "at most 64"),
        ("Review-Gate", "must be lowercase"),
        ("REVIEW", "must be lowercase"),
        ("-review", "must not start or end with a hyphen"),
        ("review-", "must not start or end with a hyphen"),
        ("review--gate", "must not contain '--'"),
        ("review_gate", "may only hold lowercase letters, digits and hyphens"),
        ("review.gate", "may only hold lowercase letters, digits and hyphens"),
        ("review+gate", "may only hold lowercase letters, digits and hyphens"),
    ],
    ids=["65-chars", "mixed-case", "upper-case", "leading-hyphen", "trailing-hyphen",
         "doubled-hyphen", "underscore", "dot", "plus"],
)
def test_invalid_name_is_one_error_on_the_name_line(
    tmp_path: Path, name: str, expected: str
) -> None:
    # The folder carries the same name so only the rule under test can fire.
    skill = write_skill(
        tmp_path, name, front_matter(f"description: {GOOD_DESCRIPTION}", f"name: '{name}'")
    )

    problem = only_error(validate_skill(skill, strict=False))

    assert expected in problem.message
    assert problem.line == 3
    assert problem.path == skill / "SKILL.md"


def test_non_ascii_name_is_valid_with_an_opencode_warning(tmp_path: Path) -> None:
    report = validate_skill(skill_with(tmp_path, "café"), strict=True)

    assert report.ok
    assert any("OpenCode" in message for message in warnings(report))


def test_name_must_equal_folder_name(tmp_path: Path) -> None:
    skill = skill_with(tmp_path, "review-gate", folder="review")

    problem = only_error(validate_skill(skill, strict=False))

    assert "must equal the folder name 'review'" in problem.message
    assert problem.line == 2


def test_name_compared_with_folder_after_nfkc(tmp_path: Path) -> None:
    decomposed = "cafe\u0301"  # 'e' + combining acute accent, as macOS file systems store it
    skill = write_skill(
        tmp_path, decomposed, front_matter("name: café", f"description: {GOOD_DESCRIPTION}")
    )

    assert validate_skill(skill, strict=True).ok


def test_surrounding_spaces_in_quoted_name_are_ignored(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", front_matter("name: '  review  '", f"description: {GOOD_DESCRIPTION}")
    )

    report = validate_skill(skill, strict=True)

    assert report.ok, report.problems
    assert report.name == "review"


@pytest.mark.parametrize(
    ("name_lines", "expected"),
    [
        ((), "missing required field 'name'"),
        (("name:",), "name must not be empty"),
        (("name: ''",), "name must not be empty"),
        (("name:", "  - review"), "'name' must be a string"),
    ],
    ids=["missing", "empty", "empty-quoted", "list"],
)
def test_missing_or_empty_name(
    tmp_path: Path, name_lines: tuple[str, ...], expected: str
) -> None:
    skill = write_skill(
        tmp_path, "review", front_matter(f"description: {GOOD_DESCRIPTION}", *name_lines)
    )

    assert errors(validate_skill(skill, strict=False)) == [expected]


def test_numeric_looking_name_is_text(tmp_path: Path) -> None:
    report = validate_skill(skill_with(tmp_path, "2024"), strict=True)

    assert report.ok
    assert report.name == "2024"


# --- description and compatibility -------------------------------------------------------


@pytest.mark.parametrize(
    ("description_lines", "expected"),
    [
        ((), "missing required field 'description'"),
        (("description:",), "'description' must not be empty"),
        (('description: "   "',), "'description' must not be empty"),
        (("description: " + "d" * 1025,), "'description' is 1025 characters; at most 1024"),
    ],
    ids=["missing", "empty", "blank", "1025-chars"],
)
def test_bad_description(
    tmp_path: Path, description_lines: tuple[str, ...], expected: str
) -> None:
    skill = write_skill(tmp_path, "review", front_matter("name: review", *description_lines))

    assert errors(validate_skill(skill, strict=False)) == [expected]


def test_description_of_exactly_1024_characters_is_valid(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", front_matter("name: review", "description: " + "d" * 1024)
    )

    assert validate_skill(skill, strict=True).ok


@pytest.mark.parametrize("value", ["yes", "no", "true", "null", "~", "1.0", "0x1F"])
def test_description_that_yaml_would_type_is_kept_as_text(tmp_path: Path, value: str) -> None:
    skill = write_skill(tmp_path, "review", front_matter("name: review", f"description: {value}"))

    report = validate_skill(skill, strict=True)

    assert report.ok
    assert report.description == value


def test_folded_multi_line_description(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review",
        front_matter("name: review", "description: >", "  First line", "  second line."),
    )

    report = validate_skill(skill, strict=True)

    assert report.ok
    assert report.description == "First line second line."


def test_compatibility_limit_is_500(tmp_path: Path) -> None:
    at_limit = skill_with(tmp_path, "at-limit", "compatibility: " + "c" * 500)
    over = skill_with(tmp_path, "over", "compatibility: " + "c" * 501)

    assert validate_skill(at_limit, strict=True).ok
    problem = only_error(validate_skill(over, strict=False))
    assert problem.message == "'compatibility' is 501 characters; at most 500"
    assert problem.line == 4


# --- unknown and agent-extension fields ------------------------------------------------


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_unknown_field_is_an_error(tmp_path: Path, strict: bool) -> None:
    skill = skill_with(tmp_path, "review", "author: someone")

    problem = only_error(validate_skill(skill, strict=strict))

    assert problem.message.startswith("unknown field 'author'")
    assert problem.line == 4


@pytest.mark.parametrize(
    "field_line",
    [
        "model: claude-sonnet-4-5",
        "disable-model-invocation: true",
        "user-invocable: false",
        "argument-hint: '[file]'",
    ],
    ids=lambda line: line.split(":")[0],
)
def test_claude_code_extension_is_a_warning_by_default_and_an_error_when_strict(
    tmp_path: Path, field_line: str
) -> None:
    skill = skill_with(tmp_path, "review", field_line)
    key = field_line.split(":")[0]

    relaxed = validate_skill(skill, strict=False)
    strict = validate_skill(skill, strict=True)

    assert relaxed.ok
    assert [(p.severity, p.line) for p in relaxed.problems] == [("warning", 4)]
    assert f"'{key}'" in relaxed.problems[0].message
    assert [(p.severity, p.line) for p in strict.problems] == [("error", 4)]


def test_the_documented_extensions_are_all_known() -> None:
    assert {"model", "disable-model-invocation", "user-invocable", "argument-hint"} <= (
        AGENT_EXTENSION_FIELDS
    )


# --- file-level problems ---------------------------------------------------------------


def test_malformed_yaml_is_an_error_on_the_offending_line(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review",
        front_matter("name: review", "description: use it: now"),
    )

    problem = only_error(validate_skill(skill, strict=False))

    assert problem.message.startswith("invalid YAML")
    assert problem.line == 3


def test_tab_indentation_is_malformed_yaml(tmp_path: Path) -> None:
    skill = write_skill(tmp_path, "review", front_matter("name: review", "\tdescription: x"))

    problem = only_error(validate_skill(skill, strict=False))

    assert problem.message.startswith("invalid YAML")
    assert problem.line == 3


def test_file_without_front_matter(tmp_path: Path) -> None:
    skill = write_skill(tmp_path, "review", "# Review\n\nname: review\n")

    problem = only_error(validate_skill(skill, strict=False))

    assert "must start with YAML front matter" in problem.message
    assert problem.line == 1


def test_empty_file(tmp_path: Path) -> None:
    skill = write_skill(tmp_path, "review", "")

    assert "must start with YAML front matter" in only_error(validate_skill(skill)).message


def test_unclosed_front_matter(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", f"---\nname: review\ndescription: {GOOD_DESCRIPTION}\n# Body\n"
    )

    problem = only_error(validate_skill(skill, strict=False))

    assert "never closed" in problem.message
    assert problem.line == 1


@pytest.mark.parametrize("front", ["---\n---\n", "---\n# only a comment\n---\n", "---\n- a\n---\n"],
                         ids=["empty", "comment-only", "list"])
def test_front_matter_that_is_not_a_mapping(tmp_path: Path, front: str) -> None:
    skill = write_skill(tmp_path, "review", front + "body\n")

    assert errors(validate_skill(skill)) == ["front matter must be a YAML mapping"]


def test_non_utf8_bytes_are_an_error_on_their_line(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", b"---\nname: review\ndescription: caf\xe9 au lait\n---\n"
    )

    problem = only_error(validate_skill(skill, strict=False))

    assert problem.message == "not UTF-8 (byte 0xe9)"
    assert problem.line == 3


def test_byte_order_mark_is_an_error(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", "\ufeff" + front_matter("name: review", "description: x")
    )

    problem = only_error(validate_skill(skill, strict=False))

    assert "byte-order mark" in problem.message
    assert problem.line == 1


def test_crlf_line_endings_are_valid_and_lines_still_count(tmp_path: Path) -> None:
    text = front_matter("name: review", f"description: {GOOD_DESCRIPTION}", "model: x")
    skill = write_skill(tmp_path, "review", text.replace("\n", "\r\n"))

    report = validate_skill(skill, strict=False)

    assert report.ok
    assert report.description == GOOD_DESCRIPTION
    assert [(p.severity, p.line) for p in report.problems] == [("warning", 4)]


def test_duplicate_key_is_an_error_on_the_second_occurrence(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review",
        front_matter("name: review", f"description: {GOOD_DESCRIPTION}", "name: other"),
    )

    report = validate_skill(skill, strict=False)

    problem = only_error(report)
    assert problem.message == "duplicate key 'name'"
    assert problem.line == 4
    assert report.name == "review"


def test_two_megabyte_skill_md_is_valid_with_a_size_warning(tmp_path: Path) -> None:
    body = ("x" * 1999 + "\n") * 1000  # 2 MB in 1000 lines
    skill = write_skill(
        tmp_path, "review", front_matter("name: review", "description: big", body=body)
    )

    report = validate_skill(skill, strict=True)

    assert report.ok
    size_warnings = [m for m in warnings(report) if "kB" in m]
    assert len(size_warnings) == 1
    assert "references/" in size_warnings[0]


def test_lower_case_skill_md_only_is_an_error_that_says_rename(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", front_matter("name: review", "description: x"), filename="skill.md"
    )

    problem = only_error(validate_skill(skill, strict=False))

    assert "rename it to SKILL.md" in problem.message
    assert problem.path == skill / "SKILL.md"


def test_folder_without_skill_md(tmp_path: Path) -> None:
    (tmp_path / "review").mkdir()

    assert errors(validate_skill(tmp_path / "review")) == ["no SKILL.md in this folder"]


def test_path_that_is_not_a_folder(tmp_path: Path) -> None:
    assert errors(validate_skill(tmp_path / "missing")) == ["not a folder"]


def test_long_body_gets_a_line_count_warning(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", front_matter("name: review", "description: x", body="line\n" * 700)
    )

    report = validate_skill(skill, strict=True)

    assert report.ok
    assert any("lines; the spec suggests under 500" in m for m in warnings(report))


def test_line_count_warning_states_the_real_number_of_lines(tmp_path: Path) -> None:
    text = front_matter("name: review", "description: x", body="line\n" * 596)
    assert len(text.splitlines()) == 600
    skill = write_skill(tmp_path, "review", text)

    assert any(m.startswith("SKILL.md has 600 lines") for m in warnings(validate_skill(skill)))


# --- every problem is collected, each on its line ------------------------------------


def test_three_faults_give_three_errors_on_their_lines(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "a--b",
        "---\n"
        "# a comment line\n"
        "name: a--b\n"
        "\n"
        "description: " + "d" * 1025 + "\n"
        "colour: blue\n"
        "---\n",
    )

    report = validate_skill(skill, strict=False)

    found = sorted((p.line, p.message.split(" ")[0]) for p in report.errors)
    assert len(report.errors) == 3, report.problems
    assert found == [(3, "name"), (5, "'description'"), (6, "unknown")]


def test_name_line_counts_comments_and_blank_lines(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review",
        "---\n# owner: platform team\n\ndescription: x\n\n\nname: Review\n---\n",
    )

    report = validate_skill(skill, strict=False)

    assert {p.line for p in report.errors} == {7}
    assert len(report.errors) == 2  # lowercase rule and folder-name rule, both on `name:`


def test_missing_required_fields_point_at_the_front_matter_start(tmp_path: Path) -> None:
    skill = write_skill(tmp_path, "review", front_matter("license: MIT"))

    report = validate_skill(skill, strict=False)

    assert sorted(errors(report)) == [
        "missing required field 'description'", "missing required field 'name'"
    ]
    assert {p.line for p in report.errors} == {1}


def test_problem_location_and_json_form(tmp_path: Path) -> None:
    problem = Problem("error", tmp_path / "SKILL.md", 7, "bad")

    assert problem.location() == f"{tmp_path / 'SKILL.md'}:7"
    assert Problem("error", tmp_path, None, "bad").location() == str(tmp_path)
    assert problem.as_dict() == {
        "severity": "error", "path": str(tmp_path / "SKILL.md"), "line": 7, "message": "bad"
    }


# --- known bugs, documented as expected behaviour -----------------------------------------


def test_symlinked_skill_folder_is_named_by_the_link(tmp_path: Path) -> None:
    # Nix-built catalogs are link farms: catalog/alpha -> /nix/store/<hash>-alpha.
    target = skill_with(tmp_path / "store", "alpha", folder="0abc123-alpha")
    (tmp_path / "catalog").mkdir()
    link = tmp_path / "catalog" / "alpha"
    link.symlink_to(target, target_is_directory=True)

    assert validate_skill(link, strict=True).ok


def test_block_description_length_does_not_depend_on_key_order(tmp_path: Path) -> None:
    text = "d" * 1024  # with the block scalar's final newline: 1025 characters
    last = write_skill(
        tmp_path, "last", front_matter("name: last", "description: |", "  " + text)
    )
    first = write_skill(
        tmp_path, "first", front_matter("description: |", "  " + text, "name: first")
    )

    assert validate_skill(first).ok is False
    assert validate_skill(last).ok is False


def test_line_numbers_count_newlines_only(tmp_path: Path) -> None:
    skill = write_skill(
        tmp_path, "review", '---\ndescription: "first\u2028second"\nname: Review\n---\n'
    )

    assert {p.line for p in validate_skill(skill).errors} == {3}


def test_deeply_nested_yaml_is_reported_not_raised(tmp_path: Path) -> None:
    skill = skill_with(tmp_path, "review", "metadata:", "  x: " + "[" * 5000 + "]" * 5000)

    assert not validate_skill(skill, strict=True).ok


# --- find_skill_folders ------------------------------------------------------------------


def test_find_skill_folders_of_a_skill_is_itself(tmp_path: Path) -> None:
    skill = skill_with(tmp_path, "review")

    assert find_skill_folders(skill) == [skill]


def test_find_skill_folders_lists_visible_children_sorted(tmp_path: Path) -> None:
    skill_with(tmp_path, "zeta")
    skill_with(tmp_path, "alpha")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "notes.txt").write_text("not a folder\n")

    assert find_skill_folders(tmp_path) == [tmp_path / "alpha", tmp_path / "zeta"]


# --- CLI wiring -----------------------------------------------------------------------


@pytest.fixture
def skills_folder_with_one_bad_skill(tmp_path: Path) -> Path:
    """`skills/` holding a valid `alpha` and a `beta` whose name is upper-case."""
    root = tmp_path / "skills"
    skill_with(root, "alpha")
    skill_with(root, "Beta", folder="beta")
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_valid_skill_exits_0(tmp_path: Path) -> None:
    code, out, err = invoke(str(skill_with(tmp_path, "review")))

    assert code == 0
    assert out == ""
    assert "1 skill(s) checked, 0 with errors" in err


def test_cli_error_exits_1_with_file_and_line(tmp_path: Path) -> None:
    skill = skill_with(tmp_path, "review", "colour: blue")

    code, out, _ = invoke(str(skill))

    assert code == 1
    assert out.startswith(f"{skill / 'SKILL.md'}:4: error: unknown field 'colour'")


def test_cli_warnings_only_exit_0_and_strict_exits_1(tmp_path: Path) -> None:
    skill = skill_with(tmp_path, "review", "model: opus")

    code, out, _ = invoke(str(skill))
    strict_code, strict_out, _ = invoke(str(skill), "--strict")

    assert code == 0
    assert f"{skill / 'SKILL.md'}:4: warning: 'model'" in out
    assert strict_code == 1
    assert f"{skill / 'SKILL.md'}:4: error: 'model'" in strict_out


def test_cli_json_shape(skills_folder_with_one_bad_skill: Path) -> None:
    code, out, _ = invoke(str(skills_folder_with_one_bad_skill), "--json")

    data = json.loads(out)
    assert code == 1
    assert [(r["folder"], r["name"], r["ok"]) for r in data] == [
        (str(skills_folder_with_one_bad_skill / "alpha"), "alpha", True),
        (str(skills_folder_with_one_bad_skill / "beta"), "Beta", False),
    ]
    assert data[0]["problems"] == []
    problems = data[1]["problems"]
    assert {tuple(p) for p in problems} == {("severity", "path", "line", "message")}
    assert {(p["severity"], p["line"]) for p in problems} == {("error", 2)}
    assert {p["path"] for p in problems} == {
        str(skills_folder_with_one_bad_skill / "beta" / "SKILL.md")
    }


def test_cli_folder_of_skills_reports_each_skill(skills_folder_with_one_bad_skill: Path) -> None:
    code, out, err = invoke(str(skills_folder_with_one_bad_skill))

    assert code == 1
    assert "beta/SKILL.md:2: error:" in out
    assert "alpha" not in out
    assert "2 skill(s) checked, 1 with errors" in err


def test_cli_several_paths(tmp_path: Path) -> None:
    good = skill_with(tmp_path, "good")
    bad = write_skill(tmp_path, "bad", "no front matter\n")

    code, out, err = invoke(str(good), str(bad))

    assert code == 1
    assert out.startswith(f"{bad / 'SKILL.md'}:1: error:")
    assert "2 skill(s) checked, 1 with errors" in err


def test_cli_missing_path_exits_1(tmp_path: Path) -> None:
    code, out, _ = invoke(str(tmp_path / "nope"))

    assert code == 1
    assert "not a folder" in out


def test_cli_folder_without_any_skill_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "review"
    folder.mkdir()
    (folder / "Skill.md").write_text(front_matter("name: review", "description: x"))

    code, _, _ = invoke(str(folder))

    assert code == 1


def test_console_script_exit_codes(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ai-skills")
    good = skill_with(tmp_path, "good", "model: opus")
    bad = skill_with(tmp_path, "bad", "colour: blue")

    warned = subprocess.run([script, "validate", good], capture_output=True, text=True)
    failed = subprocess.run([script, "validate", "--json", bad], capture_output=True, text=True)

    assert warned.returncode == 0, warned.stderr
    assert ":4: warning:" in warned.stdout
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)[0]["ok"] is False


FROM_MEMORY = [
    b"---\nname: demo\ndescription: Fine.\n---\n# demo\n",
    b"---\nname: other\ndescription: Wrong folder.\n---\n",
    b"---\nname: Demo\ndescription: Upper case.\nmodel: x\nbogus: 1\n---\n",
    b"---\ndescription: no name\n---\n",
    b"no front matter at all\n",
    b"\xef\xbb\xbf---\nname: demo\ndescription: BOM.\n---\n",
    b"---\nname: demo\ndescription: \xff not UTF-8\n---\n",
    b"---\nname: demo\ndescription: " + b"x" * 1100 + b"\n---\n" + b"line\n" * 600,
    b"---\nname: demo\ndescription: [unclosed\n---\n",
]


@pytest.mark.parametrize("data", FROM_MEMORY, ids=range(len(FROM_MEMORY)))
def test_validating_from_memory_finds_what_validating_the_folder_finds(
    tmp_path: Path, data: bytes
) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "SKILL.md").write_bytes(data)
    on_disk = validate_skill(folder)
    in_memory = validate_skill_md(Path("demo"), data)
    assert [(p.severity, p.path.name, p.line, p.message) for p in in_memory.problems] == \
        [(p.severity, p.path.name, p.line, p.message) for p in on_disk.problems]
    assert (in_memory.name, in_memory.description, in_memory.fields) == \
        (on_disk.name, on_disk.description, on_disk.fields)
