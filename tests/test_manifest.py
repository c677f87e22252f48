"""`parse_manifest`: the `.skills` file, by example and by property."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ai_skills.deploy.manifest import Manifest, ManifestLine, ManifestProblem, parse_manifest
from ai_skills.skills.validation import name_problems

# --- examples -------------------------------------------------------------------------


def test_comments_blank_lines_and_spaces_are_ignored() -> None:
    manifest = parse_manifest(
        "# skills for this repo\n"
        "\n"
        "   review-gate   \n"
        "\t\n"
        "pdf-tools  # for the invoices\n"
        "    # indented comment\n"
        "alpha#no space before the comment\n"
    )

    assert manifest.entries == [
        ManifestLine("review-gate", 3), ManifestLine("pdf-tools", 5), ManifestLine("alpha", 7)
    ]
    assert manifest.problems == []
    assert manifest.names == ["review-gate", "pdf-tools", "alpha"]


def test_empty_and_comment_only_texts_have_no_entries() -> None:
    for text in ("", "\n\n", "# nothing yet\n", "   \n# a\n\t# b"):
        assert parse_manifest(text) == Manifest([], [])


def test_crlf_lines() -> None:
    manifest = parse_manifest("alpha\r\n# c\r\nbeta\r\n")

    assert manifest.entries == [ManifestLine("alpha", 1), ManifestLine("beta", 3)]


def test_duplicate_is_a_warning_naming_the_first_line() -> None:
    manifest = parse_manifest("alpha\nbeta\n\nalpha # again\nalpha\n")

    assert manifest.names == ["alpha", "beta"]
    assert manifest.problems == [
        ManifestProblem(4, "warning", "'alpha' is already listed on line 1"),
        ManifestProblem(5, "warning", "'alpha' is already listed on line 1"),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("skills/alpha", "no paths"),
        ("../alpha", "no paths"),
        ("..", "no paths"),
        (".", "no paths"),
        (".hidden", "no paths"),
        ("a\\b", "no paths"),
        ("two words", "no spaces inside"),
        ("tab\tinside", "no spaces inside"),
        ("Review", "must be lowercase"),
        ("-review", "must not start or end with a hyphen"),
        ("review-", "must not start or end with a hyphen"),
        ("review--gate", "must not contain '--'"),
        ("review_gate", "may only hold lowercase letters, digits and hyphens"),
        ("x" * 65, "at most 64"),
    ],
    ids=["slash", "dot-dot-slash", "dot-dot", "dot", "hidden", "backslash", "space", "tab",
         "upper-case", "leading-hyphen", "trailing-hyphen", "doubled-hyphen", "underscore",
         "65-chars"],
)
def test_bad_name_is_an_error_on_its_line(line: str, expected: str) -> None:
    manifest = parse_manifest(f"# header\nalpha\n\n{line}  # note\nbeta\n")

    assert manifest.names == ["alpha", "beta"]
    assert len(manifest.problems) == 1
    problem = manifest.problems[0]
    assert (problem.line, problem.severity) == (4, "error")
    assert expected in problem.message


def test_name_of_exactly_64_characters_is_accepted() -> None:
    assert parse_manifest("x" * 64).names == ["x" * 64]


def test_line_numbers_after_many_blank_and_comment_lines() -> None:
    text = "\n" * 10 + "# c\n" * 5 + "alpha\n" + "\n" * 3 + "Bad\n"

    manifest = parse_manifest(text)

    assert manifest.entries == [ManifestLine("alpha", 16)]
    assert [p.line for p in manifest.problems] == [20]


def test_only_newlines_separate_lines() -> None:
    manifest = parse_manifest("alpha\x0cbeta\ngamma\n")

    assert manifest.entries == [ManifestLine("gamma", 2)]
    assert [p.line for p in manifest.problems] == [1]


# --- properties -----------------------------------------------------------------------

# The line breaks str.splitlines() honours besides \n and \r: not line breaks in a manifest.
EXOTIC_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

valid_names = st.one_of(
    st.sampled_from(["alpha", "beta", "review-gate", "pdf2", "café"]),
    st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,2}", fullmatch=True),
)
line_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r" + EXOTIC_BREAKS),
    max_size=20,
)
comments = st.builds(lambda pad, text: pad + "#" + text, st.sampled_from(["", "  ", "\t"]),
                     line_text)
blanks = st.sampled_from(["", " ", "\t", "   \t "])
name_lines = st.builds(
    lambda before, name, after, comment: before + name + after + comment,
    blanks, valid_names, blanks, st.one_of(st.just(""), comments),
)
any_lines = st.one_of(name_lines, comments, blanks, line_text)
manifest_texts = st.lists(any_lines, max_size=25).map("\n".join)


def code_part(line: str) -> str:
    """The name a manifest line asks for: before '#', trimmed, NFKC-normalised."""
    return unicodedata.normalize("NFKC", line.split("#", 1)[0].strip())


@given(st.text())
@example("\udcff")
@example("a\x00b\n\u2028#\n..\n/\n")
def test_parsing_arbitrary_text_never_raises_and_stays_in_range(text: str) -> None:
    manifest = parse_manifest(text)

    line_count = len(text.splitlines())
    assert all(1 <= e.line <= line_count for e in manifest.entries)
    assert all(1 <= p.line <= line_count for p in manifest.problems)
    assert all(p.severity in ("error", "warning") for p in manifest.problems)
    for entry in manifest.entries:
        assert entry.name in unicodedata.normalize("NFKC", text)


@given(manifest_texts)
def test_every_entry_is_a_valid_name_taken_from_its_line(text: str) -> None:
    lines = text.split("\n")

    for entry in parse_manifest(text).entries:
        assert code_part(lines[entry.line - 1]) == entry.name
        assert not [msg for severity, msg in name_problems(entry.name) if severity == "error"]
        assert entry.name.strip() == entry.name and entry.name


@given(manifest_texts)
def test_entries_are_unique_and_in_first_seen_order(text: str) -> None:
    manifest = parse_manifest(text)

    wanted = [code_part(line) for line in text.split("\n")]
    first_seen = list(dict.fromkeys(n for n in wanted if n and n in set(manifest.names)))
    assert manifest.names == first_seen
    assert len(set(manifest.names)) == len(manifest.names)
    assert [e.line for e in manifest.entries] == sorted({e.line for e in manifest.entries})


@given(manifest_texts)
def test_problems_point_at_non_blank_lines(text: str) -> None:
    lines = text.split("\n")
    manifest = parse_manifest(text)

    for problem in manifest.problems:
        assert code_part(lines[problem.line - 1]) != ""
    first_line = {e.name: e.line for e in manifest.entries}
    for problem in manifest.problems:
        if problem.severity == "warning":
            name = code_part(lines[problem.line - 1])
            assert f"already listed on line {first_line[name]}" in problem.message
            assert first_line[name] < problem.line


@given(manifest_texts, st.data())
def test_extra_comment_and_blank_lines_never_change_the_names(
    text: str, data: st.DataObject
) -> None:
    lines = text.split("\n")
    extra = data.draw(st.lists(st.tuples(st.integers(0, len(lines)), st.one_of(comments, blanks)),
                               max_size=10))
    padded = list(lines)
    for position, filler in sorted(extra, reverse=True):
        padded.insert(position, filler)

    before, after = parse_manifest(text), parse_manifest("\n".join(padded))

    assert after.names == before.names
    assert [(p.severity, p.message.split(" line ")[0]) for p in after.problems] == [
        (p.severity, p.message.split(" line ")[0]) for p in before.problems
    ]


@given(manifest_texts)
def test_every_non_blank_line_gives_exactly_one_entry_or_problem(text: str) -> None:
    manifest = parse_manifest(text)

    non_blank = [n for n, line in enumerate(text.split("\n"), start=1) if code_part(line)]
    accounted = [e.line for e in manifest.entries] + [p.line for p in manifest.problems]
    assert sorted(accounted) == non_blank
