"""The `.skills` manifest: one skill name per line, `#` comments, blank lines ignored.

One optional `agents: NAME, NAME` line chooses the agents a repo links for (names are
checked against the agent table by the caller; this module stays import-light).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import NamedTuple

from ai_skills.skills.validation import name_problems

# As large as a lock may be: a huge hostile `agents:` line still gets its one short error.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class ManifestLine(NamedTuple):
    """A skill requested on a line of the manifest."""

    name: str
    line: int


class ManifestProblem(NamedTuple):
    """Something wrong on one line; `severity` is 'error' or 'warning'."""

    line: int
    severity: str
    message: str


class AgentsLine(NamedTuple):
    """The agents named on the manifest's `agents:` line."""

    names: list[str]
    line: int


AGENTS_PREFIX = "agents:"


class Manifest(NamedTuple):
    """The parsed manifest: valid requests in order, the `agents:` line, the problems found."""

    entries: list[ManifestLine]
    problems: list[ManifestProblem]
    agents: AgentsLine | None = None

    @property
    def names(self) -> list[str]:
        """The requested names, in manifest order, each once."""
        return [entry.name for entry in self.entries]


def read_manifest_file(path: Path) -> Manifest:
    """The parsed manifest at `path`; FileNotFoundError when there is none.

    Anything else that keeps it from being read (a folder, not UTF-8, too large) is a
    ManifestError: never an empty manifest, which would unlink every skill.
    """
    from ai_skills.errors import ManifestError
    from ai_skills.util.textfiles import read_text

    fix = "nothing was changed; make it a UTF-8 file with one skill name per line"
    return parse_manifest(read_text(path, error=ManifestError, fix=fix,
                                    max_bytes=MAX_MANIFEST_BYTES))


def parse_manifest(text: str) -> Manifest:
    """Parse manifest text; never raises on content, reports problems per line."""
    entries: list[ManifestLine] = []
    problems: list[ManifestProblem] = []
    agents: AgentsLine | None = None
    seen: dict[str, int] = {}
    # "\n" only: str.splitlines() also splits at form feeds and U+2028, shifting line numbers.
    for number, raw in enumerate(text.split("\n"), start=1):
        # NFKC, as the spec compares names: a full-width `ｆｏｏ` is looked up as `foo`.
        name = unicodedata.normalize("NFKC", raw.split("#", 1)[0].strip())
        if not name:
            continue
        if name.startswith(AGENTS_PREFIX):
            names = name[len(AGENTS_PREFIX):].replace(",", " ").split()
            problem = _agents_line_problem(names, agents)
            if problem:
                problems.append(ManifestProblem(number, "error", problem))
            else:
                agents = AgentsLine(names, number)
            continue
        problem = _name_problem(name)
        if problem:
            problems.append(ManifestProblem(number, "error", problem))
        elif name in seen:
            message = f"'{name}' is already listed on line {seen[name]}"
            problems.append(ManifestProblem(number, "warning", message))
        else:
            seen[name] = number
            entries.append(ManifestLine(name, number))
    return Manifest(entries, problems, agents)


def _agents_line_problem(names: list[str], first: AgentsLine | None) -> str | None:
    if first is not None:
        return f"a second `agents:` line (the first is line {first.line}); merge them"
    if not names:
        return "`agents:` names no agent; list some (`agents: claude, cursor`)"
    return None


def _name_problem(name: str) -> str | None:
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        return f"'{name}' is not a skill name (no paths: write just the folder name)"
    if any(c.isspace() for c in name):
        return f"'{name}' is not a skill name (one name per line, no spaces inside)"
    errors = [message for severity, message in name_problems(name) if severity == "error"]
    return f"invalid skill name: {errors[0]}" if errors else None
