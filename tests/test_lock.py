"""Lock files: round trip, clear errors, and the pydantic-free fast read agreeing with pydantic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_skills.install.lock import (
    LockedSkill,
    LockFileError,
    _plain_lock,
    lock_text,
    read_lock,
    write_lock,
)
from ai_skills.install.lock_schema import LockFileModel

ENTRY = LockedSkill(source="file:///src", commit="a" * 40, path="skills/alpha",
                    hash="sha256:" + "b" * 64, ref="main")


def test_round_trip_and_stable_text(tmp_path: Path) -> None:
    path = tmp_path / "ai-skills.lock.json"
    user = LockedSkill(source="https://x/y.git", commit="c" * 40, path="", hash=ENTRY.hash,
                       agents=("claude", "codex"))
    write_lock(path, {"zeta": user, "alpha": ENTRY})
    assert read_lock(path) == {"alpha": ENTRY, "zeta": user}
    text = path.read_text()
    assert text.index('"alpha"') < text.index('"zeta"')
    assert '"ref"' in text and text.count('"ref"') == 1  # None is left out
    assert text == lock_text(read_lock(path))
    assert _plain_lock(json.loads(text)) == read_lock(path)  # what we write takes the fast path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": 1, "skills": {"a": {"source": "s"}}}', r"skills\.a\.commit: Field required"),
        ('{"version": 1, "skills": {"a": {"source": "s", "commit": "xyz", "path": "", '
         '"hash": "sha256:' + "0" * 64 + '"}}}', r"skills\.a\.commit: String should match"),
        ('{"version": 2, "skills": {}}', "version 2 is not supported"),
        ("not json", r"ai-skills\.lock\.json:1:1: not JSON \(Expecting value\)"),
    ],
)
def test_bad_lock_names_file_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "ai-skills.lock.json"
    path.write_text(content)
    with pytest.raises(LockFileError, match=message) as info:
        read_lock(path)
    assert str(path) in str(info.value)


def test_commit_with_trailing_newline_is_not_taken_by_the_fast_path() -> None:
    data = {"version": 1, "skills": {"a": {**ENTRY.as_dict(), "commit": "a" * 40 + "\n"}}}
    assert _plain_lock(json.dumps(data)) is None


values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                   st.sampled_from(["a" * 40, "sha256:" + "0" * 64, "", "main"]),
                   st.lists(st.sampled_from(["claude", 1]), max_size=2))
entries = st.dictionaries(
    st.sampled_from(["source", "commit", "path", "hash", "ref", "agents", "extra"]), values
).map(lambda d: {**ENTRY.as_dict(), **d} if d.get("extra") is None else d)


@settings(max_examples=200)
@given(st.dictionaries(st.text(max_size=3), entries, max_size=2),
       st.sampled_from([1, 2, True]))
def test_fast_path_accepts_only_what_pydantic_accepts(skills: dict[str, Any],
                                                      version: Any) -> None:
    text = json.dumps({"version": version, "skills": skills})
    fast = _plain_lock(text)
    if fast is None:
        return
    model = LockFileModel.model_validate_json(text)
    assert model.version == 1
    assert {n: e.model_dump(exclude_none=True) for n, e in model.skills.items()} == {
        n: {**e.as_dict(), **({"agents": list(e.agents)} if e.agents is not None else {})}
        for n, e in fast.items()
    }
