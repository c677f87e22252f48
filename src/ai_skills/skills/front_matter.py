"""SKILL.md front matter: found, bounded and parsed without expanding anything a stranger wrote.

Scalars are read as plain strings, as the reference validator (PyPI `skills-ref`,
strictyaml) reads them, so `name: 123` or `description: yes` mean the same text to both.
Every problem here is an error; `validation.py` turns them into findings at `file:line`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# Front matter comes from strangers' repositories and is read on every direnv reload of a
# new skill: these bounds hold before YAML builds anything (see _unsafe_yaml).
MAX_FRONT_MATTER_BYTES = 64 * 1024
MAX_FRONT_MATTER_DEPTH = 32
_NO_ANCHORS = "; the Agent Skills format needs no anchors or aliases: write each value out"


class FrontMatter(NamedTuple):
    """What the front matter holds, {key: (plain value, line)} (None when it could not be
    read), the problems found as (line, message), and whether the `---` lines were there
    (without them nothing else in the file can be judged)."""

    fields: dict[str, tuple[Any, int]] | None
    problems: list[tuple[int, str]]
    delimited: bool


def read_front_matter(text: str) -> FrontMatter:
    """The front matter of a SKILL.md's text, every problem with its line."""
    problems: list[tuple[int, str]] = []
    front, first_line = _split(text, problems)
    if front is None:
        return FrontMatter(None, problems, delimited=False)
    return FrontMatter(_parse_yaml(front, first_line, problems), problems, delimited=True)


def front_matter_fields(text: str) -> dict[str, Any]:
    """The front matter of a SKILL.md's text as plain data; {} when it is missing or refused."""
    fields = read_front_matter(text).fields
    return {key: value for key, (value, _) in (fields or {}).items()}


def _split(text: str, problems: list[tuple[int, str]]) -> tuple[str | None, int]:
    """The YAML between the opening and closing `---` lines, and its first line number."""
    # Split on line ends only (CRLF, CR, LF): str.splitlines() also breaks at form feeds and
    # U+2028, which YAML and editors do not count as new lines, so line numbers would drift.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[0].rstrip() != "---":
        problems.append((1, "must start with YAML front matter ('---' line)"))
        return None, 0
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() == "---":
            # Keep the newline that ends the last YAML line: a block scalar (`|`, `>`) there
            # would otherwise lose its final newline and measure one character short.
            return "".join(line + "\n" for line in lines[1:index]), 2
    problems.append((1, "front matter is never closed with a '---' line"))
    return None, 0


def _parse_yaml(
    front: str, first_line: int, problems: list[tuple[int, str]]
) -> dict[str, tuple[Any, int]] | None:
    """Front matter as {key: (plain value, line)}; None after reporting a parse problem."""
    size = len(front.encode("utf-8", "surrogatepass"))
    if size > MAX_FRONT_MATTER_BYTES:
        problems.append((first_line, f"front matter is {size} bytes; at most "
                         f"{MAX_FRONT_MATTER_BYTES} (move long text into the body)"))
        return None
    simple = _simple_mapping(front, first_line)
    if simple is not None:
        return simple
    import yaml  # only when a SKILL.md needs it: keeps `use-skills` no-ops and `add` fast

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        unsafe = _unsafe_yaml(front, loader)
        if unsafe is not None:
            index, message = unsafe
            problems.append((first_line + front.count("\n", 0, index), message))
            return None
        node = yaml.compose(front, Loader=loader)
        return _as_mapping(node, front, first_line, problems)
    except RecursionError:
        problems.append((first_line, "front matter is nested too deeply"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append((line, f"invalid YAML: {problem}"))
        return None


# What cannot start a plain YAML scalar (an indicator: flow, block, anchor, alias, tag,
# quote, comment, directive, reserved).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_MAX_SIMPLE_KEY = 128  # YAML limits an implicit key to 1024 characters: stay well inside


def _simple_mapping(front: str, first_line: int) -> dict[str, tuple[Any, int]] | None:
    """The front matter as YAML reads it when every line is blank or `key: plain text`
    (most SKILL.md files), else None: YAML decides.

    Importing PyYAML (and compiling its resolvers' patterns) costs `ai-skills add` more than
    reading a skill. Only printable ASCII on one line, a key of letters, digits, `_` and
    `-`, and a value that starts with no indicator and holds no `: ` or ` #`: what YAML
    reads as that very text, with no anchor, alias, tag, quote or nesting to check. A
    property test holds this to PyYAML (tests/test_front_matter_fast.py).
    """
    mapping: dict[str, tuple[Any, int]] = {}
    for index, line in enumerate(front.split("\n")):
        if not line:
            continue
        key, colon, value = line.partition(": ")
        value = value.strip(" ")
        if not (
            colon
            and value
            and key[:1].isalpha()
            and len(key) <= _MAX_SIMPLE_KEY
            and key.isascii()
            and all(char.isalnum() or char in "_-" for char in key)
            and key not in mapping
            and line.isascii()
            and line.isprintable()
            and value[0] not in _INDICATORS
            and ": " not in value
            and " #" not in value
            and not value.endswith(":")
        ):
            return None
        mapping[key] = (value, first_line + index)
    return mapping or None


def _unsafe_yaml(front: str, loader: Any) -> tuple[int, str] | None:
    """(character offset, why) of the first anchor, alias or too-deep nesting, else None.

    Read from the parser's events, which never expand anything: an alias is only resolved
    when nodes are composed, and nine nested aliases ("billion laughs") expand to 9**9
    strings. The Agent Skills format needs neither anchors nor aliases.
    """
    import yaml

    depth = 0
    for event in yaml.parse(front, Loader=loader):
        where = event.start_mark.index if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            return where, f"front matter uses a YAML alias ('*{event.anchor}'){_NO_ANCHORS}"
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            return where, f"front matter uses a YAML anchor ('&{anchor}'){_NO_ANCHORS}"
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_FRONT_MATTER_DEPTH:
                return where, f"front matter nests deeper than {MAX_FRONT_MATTER_DEPTH} levels"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _as_mapping(
    node: Any, front: str, first_line: int, problems: list[tuple[int, str]]
) -> dict[str, tuple[Any, int]] | None:
    """A composed YAML node as {key: (plain value, line)}, reporting duplicate keys."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        problems.append((first_line, "front matter must be a YAML mapping"))
        return None
    mapping: dict[str, tuple[Any, int]] = {}
    for key_node, value_node in node.value:
        # From the character offset, not mark.line: YAML also counts U+2028 and U+0085 as
        # line breaks, editors do not.
        line = first_line + front.count("\n", 0, key_node.start_mark.index)
        key = str(key_node.value)
        if key in mapping:
            problems.append((line, f"duplicate key '{key}'"))
            continue
        mapping[key] = (_plain(value_node), line)
    return mapping


def _plain(node: Any) -> Any:
    """A YAML node as Python data with every scalar kept as its text."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    return {str(k.value): _plain(v) for k, v in node.value}
