"""The `--json` writer (util/json_text.py) writes what `json.dumps(indent=2, default=str)` does."""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ai_skills.util.json_text import indented_json

# Every kind of character: surrogates (lone halves, as a path that is not UTF-8 decodes to),
# control characters, non-ASCII, astral.
ANY_TEXT = st.text(st.characters(blacklist_categories=()))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
)
KEYS = ANY_TEXT | st.integers() | st.floats() | st.booleans() | st.none()
JSON_READY = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5)
    | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


def expected(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str)


@given(JSON_READY)
@settings(max_examples=1500)
@example({"": [], "a": {}, "b": [[], {}], "c": ()})
@example([math.nan, math.inf, -math.inf, -0.0, 1e300, 5e-324])
@example({"\udc80": "\ud800\x00\x1f\x7f\u2028é日本\U0001f600\"\\"})
@example({1.5: 1, True: 2, None: 3, 7: 4, "7": 5})
def test_the_writer_matches_json_dumps(data: object) -> None:
    assert indented_json(data) == expected(data)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_other_objects_become_their_text_as_with_default_str(tmp_path: Path) -> None:
    data = {"path": tmp_path, "colour": Colour.RED, "level": Level.HIGH, "set": {1},
            Colour.RED: [Level.HIGH, b"x"]}
    assert indented_json(data) == expected(data)


def test_a_key_json_cannot_write_is_the_same_error() -> None:
    with pytest.raises(TypeError) as ours:
        indented_json({(1, 2): 1})
    with pytest.raises(TypeError) as theirs:
        expected({(1, 2): 1})
    assert str(ours.value) == str(theirs.value)
