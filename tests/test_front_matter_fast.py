"""The front matter's fast path reads exactly what PyYAML reads, or leaves the file to it."""

from __future__ import annotations

import sys
from unittest.mock import patch

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ai_skills.skills import front_matter

# Letters and the characters that mean something to YAML somewhere in a line.
TRICKY = "ab yZ09_-:#&*!|>'\"%@`,[]{}?.~=<\t\\é\x85\u2028\ufeff"
LINE = st.one_of(
    st.text(alphabet=TRICKY, max_size=12),
    st.builds(lambda key, gap, value: f"{key}:{gap}{value}",
              st.text(alphabet="aZ9_-.: ", min_size=1, max_size=6),
              st.sampled_from(["", " ", "  ", "\t"]),
              st.text(alphabet=TRICKY, max_size=12)),
)


def with_yaml(text: str) -> front_matter.FrontMatter:
    """What the front matter reads as with PyYAML alone."""
    with patch.object(front_matter, "_simple_mapping", return_value=None):
        return front_matter.read_front_matter(text)


@given(st.lists(LINE, max_size=6))
@settings(max_examples=1500, deadline=None)
@example(["name: alpha", "description: Use it, when [x] {y} happens: C# or a#b."])
@example(["name: yes", "description: ~", "version: 1.0", "license: null"])
@example(["name: a", "name: b"])
@example(["name: a #comment"])
@example(["name: &a x", "other: *a"])
@example(["name: !!str x"])
@example(["name: 'x'"])
@example(["metadata: x", "  nested: y"])
@example(["name:x"])
@example(["name: x:"])
@example(["name:   spaced   "])
def test_the_fast_path_agrees_with_pyyaml_whenever_it_answers(lines: list[str]) -> None:
    text = "---\n" + "\n".join(lines) + "\n---\nbody\n"
    fast = front_matter._simple_mapping("".join(line + "\n" for line in lines), 2)
    if fast is None:
        return
    slow = with_yaml(text)
    assert slow.problems == [] and slow.fields == fast


def test_a_plain_skill_md_is_read_without_importing_yaml() -> None:
    import subprocess

    program = (
        "import sys\n"
        "from ai_skills.skills.front_matter import front_matter_fields\n"
        "text = '---\\nname: alpha\\ndescription: Does a, b [c] or C#.\\n---\\n'\n"
        "fields = front_matter_fields(text)\n"
        "print(fields, 'yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         check=True).stdout
    assert out == "{'name': 'alpha', 'description': 'Does a, b [c] or C#.'} False\n"


def test_what_the_fast_path_leaves_alone_still_gets_yamls_findings() -> None:
    anchored = front_matter.read_front_matter("---\nname: a\nx: &a 1\n---\n")
    assert anchored.fields is None and "YAML anchor ('&a')" in anchored.problems[0][1]
    dup = front_matter.read_front_matter("---\nname: a\nname: b\n---\n")
    assert dup.problems == [(3, "duplicate key 'name'")]
