"""`validate_skill(strict=True)` gives the same verdict as the reference validator.

The reference is PyPI `skills-ref` 0.1.1 (`skills_ref.validator.validate`). Only the verdict
(valid or not) is compared, not the messages. A crash of the reference (e.g.
UnicodeDecodeError on non-UTF-8 bytes) counts as "invalid". Cases where we differ on purpose
are listed in DELIBERATE_DIFFERENCES with the reason, and asserted, so a change on either
side shows up here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from skills_ref.validator import validate as reference_validate

from ai_skills.skills.validation import validate_skill

DESCRIPTION = "Summarises a PDF. Use when the user attaches a PDF."


@dataclass(frozen=True)
class Case:
    """A one-skill corpus entry: folder name, SKILL.md bytes, and the expected verdict."""

    id: str
    folder: str
    content: str | bytes
    valid: bool
    filename: str = "SKILL.md"

    def build(self, parent: Path) -> Path:
        skill = parent / self.folder
        skill.mkdir(parents=True)
        data = self.content if isinstance(self.content, bytes) else self.content.encode()
        (skill / self.filename).write_bytes(data)
        return skill


@dataclass(frozen=True)
class Difference:
    """A case where our verdict differs from the reference's on purpose."""

    case: Case
    reference_valid: bool
    reason: str


def fm(*lines: str, body: str = "# Body\n") -> str:
    """SKILL.md text with `lines` as front matter."""
    return "---\n" + "".join(line + "\n" for line in lines) + "---\n" + body


def named(name: str, *extra: str, body: str = "# Body\n") -> str:
    """SKILL.md for `name` with a good description and `extra` front-matter lines."""
    return fm(f"name: {name}", f"description: {DESCRIPTION}", *extra, body=body)


def reference_verdict(folder: Path) -> bool:
    try:
        return reference_validate(folder) == []
    except Exception:  # a crash of the reference is its way of rejecting the file
        return False


def our_verdict(folder: Path) -> bool:
    return validate_skill(folder, strict=True).ok


AGREED: list[Case] = [
    # names
    Case("valid-minimal", "pdf", named("pdf"), True),
    Case("uppercase-name", "PDF", named("PDF"), False),
    Case("mixed-case-name", "Pdf-Tools", named("Pdf-Tools"), False),
    Case("doubled-hyphen", "pdf--tools", named("pdf--tools"), False),
    Case("leading-hyphen", "-pdf", named("-pdf"), False),
    Case("trailing-hyphen", "pdf-", named("pdf-"), False),
    Case("underscore", "pdf_tools", named("pdf_tools"), False),
    Case("name-folder-mismatch", "pdf", named("pdf-tools"), False),
    Case("name-64", "n" * 64, named("n" * 64), True),
    Case("name-65", "n" * 65, named("n" * 65), False),
    Case("missing-name", "pdf", fm(f"description: {DESCRIPTION}"), False),
    Case("empty-name", "pdf", fm("name:", f"description: {DESCRIPTION}"), False),
    Case("numeric-name-numeric-folder", "2024", named("2024"), True),
    Case("unicode-lowercase-name", "café", named("café"), True),
    Case("unicode-name-nfd-folder", "cafe\u0301", named("café"), True),
    Case("unicode-uppercase-name", "Café", named("Café"), False),
    Case("single-quoted-name", "pdf", fm("name: 'pdf'", f"description: '{DESCRIPTION}'"), True),
    Case("double-quoted-name", "pdf", fm('name: "pdf"', f'description: "{DESCRIPTION}"'), True),
    Case("quoted-name-with-spaces", "pdf", fm("name: '  pdf  '", "description: d"), True),
    # description and compatibility
    Case("missing-description", "pdf", fm("name: pdf"), False),
    Case("empty-description", "pdf", fm("name: pdf", "description: ''"), False),
    Case("description-1024", "pdf", fm("name: pdf", "description: " + "d" * 1024), True),
    Case("description-1025", "pdf", fm("name: pdf", "description: " + "d" * 1025), False),
    Case("description-yes", "pdf", fm("name: pdf", "description: yes"), True),
    Case("description-null", "pdf", fm("name: pdf", "description: null"), True),
    Case("folded-description", "pdf",
         fm("name: pdf", "description: >", "  Summarises a PDF.", "  Use with PDFs."), True),
    Case("literal-description-not-last", "pdf",
         fm("description: |", "  " + "d" * 1024, "name: pdf"), False),
    Case("compatibility-500", "pdf", named("pdf", "compatibility: " + "c" * 500), True),
    Case("compatibility-501", "pdf", named("pdf", "compatibility: " + "c" * 501), False),
    Case("compatibility-empty", "pdf", named("pdf", "compatibility:"), True),
    # other fields
    Case("all-spec-fields", "pdf",
         named("pdf", "license: MIT", "compatibility: needs poppler",
               "allowed-tools: Bash(pdftotext:*) Read"), True),
    Case("metadata-map", "pdf", named("pdf", "metadata:", "  author: me", "  version: '1'"), True),
    Case("metadata-nested-map", "pdf", named("pdf", "metadata:", "  a:", "    b: c"), True),
    Case("metadata-string", "pdf", named("pdf", "metadata: plain"), True),
    Case("allowed-tools-string", "pdf", named("pdf", "allowed-tools: Read Grep"), True),
    Case("unknown-field", "pdf", named("pdf", "author: me"), False),
    Case("claude-model-field", "pdf", named("pdf", "model: opus"), False),
    Case("claude-user-invocable", "pdf", named("pdf", "user-invocable: false"), False),
    Case("duplicate-key", "pdf", named("pdf", "name: pdf"), False),
    # file shape
    Case("no-skill-md", "pdf", "", False, filename="README.md"),
    Case("empty-file", "pdf", "", False),
    Case("no-front-matter", "pdf", "# PDF\n\nname: pdf\n", False),
    Case("empty-front-matter", "pdf", "---\n---\n# Body\n", False),
    Case("front-matter-is-a-list", "pdf", "---\n- pdf\n---\n", False),
    Case("unclosed-front-matter", "pdf", "---\nname: pdf\ndescription: d\n", False),
    Case("malformed-yaml", "pdf", fm("name: pdf", "description: use: it"), False),
    Case("tab-indented-yaml", "pdf", fm("name: pdf", "\tdescription: d"), False),
    Case("comments-in-front-matter", "pdf",
         fm("# owner: me", "name: pdf # the name", "", "description: d"), True),
    Case("spaces-after-opening-dashes", "pdf", "--- \nname: pdf\ndescription: d\n---\n", True),
    Case("no-newline-after-closing", "pdf", "---\nname: pdf\ndescription: d\n---", True),
    Case("dash-lines-in-body", "pdf", named("pdf", body="a\n---\nb\n---\n"), True),
    Case("non-utf8-bytes", "pdf", b"---\nname: pdf\ndescription: caf\xe9\n---\n", False),
    Case("nul-byte", "pdf", "---\nname: pdf\ndescription: a\x00b\n---\n", False),
    Case("byte-order-mark", "pdf", "\ufeff" + named("pdf"), False),
    Case("crlf-line-endings", "pdf", named("pdf").replace("\n", "\r\n"), True),
    Case("cr-line-endings", "pdf", named("pdf").replace("\n", "\r"), True),
    Case("two-megabytes", "pdf", named("pdf", body=("x" * 1999 + "\n") * 1000), True),
]

DELIBERATE_DIFFERENCES: list[Difference] = [
    Difference(
        Case("lowercase-skill-md-only", "pdf", named("pdf"), False, filename="skill.md"),
        reference_valid=True,
        reason="the reference falls back to skill.md, but Claude Code, Codex and OpenCode only "
        "load SKILL.md, so such a skill is never seen by an agent",
    ),
    Difference(
        Case("dashes-inside-a-value", "pdf",
             fm("name: pdf", 'description: "Before --- after"'), True),
        reference_valid=False,
        reason="the reference splits the file on the first '---' anywhere (here inside the "
        "quoted description); front matter ends at a line that is exactly '---'",
    ),
    Difference(
        Case("flow-style-metadata", "pdf", named("pdf", "metadata: {author: me}"), True),
        reference_valid=False,
        reason="the reference parses with strictyaml, which rejects flow style; agents read "
        "front matter with full YAML parsers, which accept it",
    ),
    Difference(
        Case("allowed-tools-as-list", "pdf",
             named("pdf", "allowed-tools:", "  - Read", "  - Grep"), False),
        reference_valid=True,
        reason="the spec defines allowed-tools as a space-delimited string; the reference does "
        "not check its type",
    ),
    Difference(
        Case("license-as-list", "pdf", named("pdf", "license:", "  - MIT"), False),
        reference_valid=True,
        reason="the spec defines license as a string; the reference does not check its type",
    ),
]

# Anchors and aliases were a deliberate difference until a nine-level alias bomb in a
# stranger's SKILL.md hung every reader: now refused, as the reference does.
AGREED += [Case("yaml-anchor-and-alias", "pdf", fm("name: &n pdf", "description: *n"), False)]

# Block scalars as the last key once lost their final newline here (fixed; kept as cases).
AGREED += [
    Case("literal-description-last-key-1025", "pdf",
         fm("name: pdf", "description: |", "  " + "d" * 1024), False),
    Case("folded-description-last-key-1025", "pdf",
         fm("name: pdf", "description: >", "  " + "d" * 1020, "  ddd"), False),
]


def test_corpus_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in AGREED] + [d.case.id for d in DELIBERATE_DIFFERENCES]
    assert len(AGREED) >= 25
    assert {True, False} <= {c.valid for c in AGREED}
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", AGREED, ids=lambda c: c.id)
def test_same_verdict_as_reference(tmp_path: Path, case: Case) -> None:
    skill = case.build(tmp_path)

    assert (our_verdict(skill), reference_verdict(skill)) == (case.valid, case.valid)


@pytest.mark.parametrize("difference", DELIBERATE_DIFFERENCES, ids=lambda d: d.case.id)
def test_deliberate_difference_still_holds(tmp_path: Path, difference: Difference) -> None:
    assert difference.reason
    assert difference.reference_valid != difference.case.valid
    skill = difference.case.build(tmp_path)

    assert our_verdict(skill) == difference.case.valid
    assert reference_verdict(skill) == difference.reference_valid


def test_symlinked_skill_folder_same_verdict_as_reference(tmp_path: Path) -> None:
    target = Case("store", "0abc123-pdf", named("pdf"), True).build(tmp_path / "store")
    (tmp_path / "catalog").mkdir()
    link = tmp_path / "catalog" / "pdf"
    link.symlink_to(target, target_is_directory=True)

    assert (our_verdict(link), reference_verdict(link)) == (True, True)
