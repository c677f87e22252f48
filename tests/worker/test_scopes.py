"""Scope overlap: conservative, so two agents never edit the same file at once."""

from __future__ import annotations

import pytest

from ai_skills.worker.run.scopes import globs_overlap, scopes_overlap


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("src/api/**", "src/api/users.py", True),
        ("src/api/*", "src/**", True),
        ("src/a*", "src/b*", False),
        ("docs/**", "src/**", False),
        ("*.md", "docs/**", True),
        ("README.md", "README.md", True),
        ("README.md", "CHANGES.md", False),
        ("/src/x.py", "src/x.py", True),
    ],
)
def test_globs_overlap(a: str, b: str, overlap: bool) -> None:
    assert globs_overlap(a, b) is overlap
    assert globs_overlap(b, a) is overlap


def test_a_task_without_scopes_overlaps_nothing() -> None:
    assert scopes_overlap([], ["src/**"]) == []
    assert scopes_overlap(["src/**", "docs/x"], ["docs/**"]) == [("docs/x", "docs/**")]
