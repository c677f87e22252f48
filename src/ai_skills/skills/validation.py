"""SKILL.md: check a skill folder against the Agent Skills spec.

Every problem is collected (not just the first) and points at `file:line`. The front
matter is read by `front_matter.py` (bounded, no YAML anchors or aliases).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ai_skills.skills.front_matter import read_front_matter

SKILL_FILE = "SKILL.md"
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
RECOMMENDED_MAX_LINES = 500
LARGE_FILE_BYTES = 1_000_000
MAX_SKILL_MD_BYTES = 16 * 2**20

SPEC_FIELDS = frozenset(
    {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
)
# Fields Claude Code reads beyond the spec. The spec's reference validator rejects them, so
# they are warnings here and errors under --strict.
AGENT_EXTENSION_FIELDS = frozenset(
    {
        "model",
        "disable-model-invocation",
        "user-invocable",
        "argument-hint",
        "context",
        "agent",
        "hooks",
        "version",
        "when_to_use",
    }
)
# What OpenCode enforces; the spec also admits lowercase non-ASCII letters.
PORTABLE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

Severity = Literal["error", "warning"]


class Problem(NamedTuple):
    """One finding about a skill, with where it is."""

    severity: Severity
    path: Path
    line: int | None
    message: str

    def location(self) -> str:
        """`path:line` or just `path`."""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "severity": self.severity,
            "path": str(self.path),
            "line": self.line,
            "message": self.message,
        }


class SkillReport:
    """What validation learned about one skill folder (filled in as checks run)."""

    __slots__ = ("folder", "name", "description", "fields", "problems")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name: str | None = None
        self.description: str | None = None
        self.fields: dict[str, Any] = {}
        self.problems: list[Problem] = []

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the skill unusable."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors


def name_problems(name: str) -> list[tuple[Severity, str]]:
    """Problems with a skill name alone, by the spec's rules (shared with `.skills` parsing)."""
    if not name.strip():
        return [("error", "name must not be empty")]
    normal = unicodedata.normalize("NFKC", name.strip())
    found: list[tuple[Severity, str]] = []
    shown = quoted(normal[:MAX_NAME * 2])
    if len(normal) > MAX_NAME:
        found.append(("error", f"name {shown} is {len(normal)} characters; at most {MAX_NAME}"))
    if normal != normal.lower():
        found.append(("error", f"name {shown} must be lowercase"))
    if normal.startswith("-") or normal.endswith("-"):
        found.append(("error", f"name {shown} must not start or end with a hyphen"))
    if "--" in normal:
        found.append(("error", f"name {shown} must not contain '--'"))
    if not all(c.isalnum() or c == "-" for c in normal):
        found.append(
            ("error", f"name {shown} may only hold lowercase letters, digits and hyphens")
        )
    if not found and not PORTABLE_NAME.match(normal):
        found.append(("warning", f"name {shown} is not plain ASCII; OpenCode will skip it"))
    return found


def name_error(name: str) -> str | None:
    """Why `name` cannot be a skill's folder, link and `.skills` line, or None when it can.

    Stricter than `name_problems`, which forgives what a YAML or `.skills` reader strips:
    a name read from a lock is used exactly as written.
    """
    errors = [message for severity, message in name_problems(name) if severity == "error"]
    if errors:
        return errors[0]
    if unicodedata.normalize("NFKC", name.strip()) != name:
        return f"name {quoted(name)} has spaces around it or is not in NFKC form"
    return None


def quoted(text: str) -> str:
    """`'text'`, with escapes shown when it holds a newline or another unprintable character."""
    return f"'{text}'" if text.isprintable() else repr(text)


def validate_skill(folder: Path, *, strict: bool = False) -> SkillReport:
    """Check one skill folder; `strict` turns agent-extension fields into errors."""
    report = SkillReport(folder=folder)
    skill_md = folder / SKILL_FILE
    if not folder.is_dir():
        report.problems.append(Problem("error", folder, None, "not a folder"))
        return report
    if not skill_md.is_file():
        _report_missing_skill_md(report, folder)
        return report
    try:
        with open(skill_md, "rb") as handle:
            data = handle.read(MAX_SKILL_MD_BYTES + 1)
    except OSError as exc:
        report.problems.append(Problem("error", skill_md, None,
                                       f"cannot read it ({exc.strerror or exc})"))
        return report
    return _check_skill_md(report, data, strict=strict)


def validate_skill_md(folder: Path, data: bytes, *, strict: bool = False) -> SkillReport:
    """`validate_skill` of a folder holding only a SKILL.md with these bytes, from memory.

    For a skill read from git before anything is written: only its name and SKILL.md count.
    """
    return _check_skill_md(SkillReport(folder=folder), data, strict=strict)


def _check_skill_md(report: SkillReport, data: bytes, *, strict: bool) -> SkillReport:
    skill_md = report.folder / SKILL_FILE
    text = _decode_text(data, skill_md, report)
    if text is None:
        return report
    front = read_front_matter(text)
    report.problems += [Problem("error", skill_md, line, why) for line, why in front.problems]
    if not front.delimited:
        return report
    if front.fields is not None:
        _check_fields(front.fields, report.folder, skill_md, report, strict=strict)
    _check_body(text, skill_md, report)
    return report


def _report_missing_skill_md(report: SkillReport, folder: Path) -> None:
    if (folder / "skill.md").is_file():
        message = "found skill.md; rename it to SKILL.md (agents look for the upper-case name)"
    else:
        message = "no SKILL.md in this folder"
    report.problems.append(Problem("error", folder / SKILL_FILE, None, message))


def _decode_text(data: bytes, skill_md: Path, report: SkillReport) -> str | None:
    if len(data) > MAX_SKILL_MD_BYTES:
        report.problems.append(Problem("error", skill_md, None, f"larger than "
                                       f"{MAX_SKILL_MD_BYTES // 2**20} MiB; agents load it whole"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.problems.append(
            Problem("error", skill_md, line, f"not UTF-8 (byte 0x{data[exc.start]:02x})")
        )
        return None
    if text.startswith("\ufeff"):
        report.problems.append(
            Problem("error", skill_md, 1, "starts with a byte-order mark; save without BOM")
        )
        return None
    if len(data) > LARGE_FILE_BYTES:
        report.problems.append(
            Problem(
                "warning",
                skill_md,
                None,
                f"SKILL.md is {len(data) // 1000} kB; agents load it whole, "
                "move long material to references/",
            )
        )
    return text


def _check_fields(
    mapping: dict[str, tuple[Any, int]],
    folder: Path,
    skill_md: Path,
    report: SkillReport,
    *,
    strict: bool,
) -> None:
    def add(severity: Severity, line: int | None, message: str) -> None:
        report.problems.append(Problem(severity, skill_md, line, message))

    report.fields = {key: value for key, (value, _) in mapping.items()}
    for key, (_, line) in mapping.items():
        if key in SPEC_FIELDS:
            continue
        if key in AGENT_EXTENSION_FIELDS:
            add("error" if strict else "warning", line,
                f"'{key}' is a Claude Code extension, not an Agent Skills field")
        else:
            add("error", line, f"unknown field '{key}' (allowed: {', '.join(sorted(SPEC_FIELDS))})")
    _check_name(mapping, folder, add)
    _check_text_field(mapping, "description", MAX_DESCRIPTION, add, required=True)
    _check_text_field(mapping, "compatibility", MAX_COMPATIBILITY, add, required=False)
    for key in ("license", "allowed-tools"):
        if key in mapping and not isinstance(mapping[key][0], str):
            add("error", mapping[key][1], f"'{key}' must be a string")
    if "metadata" in mapping and not isinstance(mapping["metadata"][0], dict):
        add("warning", mapping["metadata"][1], "'metadata' should be a map of strings")
    name = mapping.get("name", (None, 0))[0]
    description = mapping.get("description", (None, 0))[0]
    report.name = name.strip() if isinstance(name, str) else None
    report.description = description.strip() if isinstance(description, str) else None


def _check_name(mapping: dict[str, tuple[Any, int]], folder: Path, add: Any) -> None:
    if "name" not in mapping:
        add("error", 1, "missing required field 'name'")
        return
    value, line = mapping["name"]
    if not isinstance(value, str):
        add("error", line, "'name' must be a string")
        return
    for severity, message in name_problems(value):
        add(severity, line, message)
    normal = unicodedata.normalize("NFKC", value.strip())
    # The folder's own name, not its symlink target's: Nix catalogs link `alpha` to a store
    # path like `0abc...-alpha`, and agents see the link's name.
    shown_name = Path(os.path.abspath(folder)).name
    if normal and unicodedata.normalize("NFKC", shown_name) != normal:
        add("error", line, f"name '{normal}' must equal the folder name '{shown_name}'")


def _check_text_field(
    mapping: dict[str, tuple[Any, int]], key: str, limit: int, add: Any, *, required: bool
) -> None:
    if key not in mapping:
        if required:
            add("error", 1, f"missing required field '{key}'")
        return
    value, line = mapping[key]
    if not isinstance(value, str):
        add("error", line, f"'{key}' must be a string")
    elif required and not value.strip():
        add("error", line, f"'{key}' must not be empty")
    elif len(value) > limit:
        add("error", line, f"'{key}' is {len(value)} characters; at most {limit}")


def _check_body(text: str, skill_md: Path, report: SkillReport) -> None:
    line_count = text.count("\n") + (0 if text.endswith("\n") else 1)
    if line_count > RECOMMENDED_MAX_LINES:
        report.problems.append(
            Problem(
                "warning",
                skill_md,
                None,
                f"SKILL.md has {line_count} lines; the spec suggests under "
                f"{RECOMMENDED_MAX_LINES} (move detail to references/)",
            )
        )


def find_skill_folders(path: Path) -> list[Path]:
    """`path` itself if it holds SKILL.md (or skill.md), else its child folders that do."""
    if (path / SKILL_FILE).is_file() or (path / "skill.md").is_file() or not path.is_dir():
        return [path]
    children = sorted(
        child for child in path.iterdir() if child.is_dir() and not child.name.startswith(".")
    )
    # A folder with neither SKILL.md nor subfolders is checked itself, so it fails loudly.
    return children or [path]
