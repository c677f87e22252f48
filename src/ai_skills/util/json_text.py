"""JSON text exactly as `json.dumps(data, indent=2, default=str)` writes it, without `json`.

Every `--json` output goes through here (`cli.render.emit_json`). Importing `json` brings
`re` (its decoder's patterns) and costs `worker status --json`, which supervisors poll,
half a Python start-up: more than reading the store (benchmarks/worker_bench.py). Writing
needs only the string escaping, which `_json` does in C. tests/test_json_text.py holds
the two equal on arbitrary data.
"""

from __future__ import annotations

try:
    # Private, but the very function `json.dumps` escapes strings with (ensure_ascii),
    # and a C module that imports nothing.
    from _json import encode_basestring_ascii as _string
except ImportError:  # an interpreter without the accelerator
    from json.encoder import encode_basestring_ascii as _string

_INDENT = "  "

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def indented_json(data: object) -> str:
    """`data` as `json.dumps(data, indent=2, default=str)` writes it."""
    parts: list[str] = []
    _write(data, parts, "\n")
    return "".join(parts)


def _write(value: object, out: list[str], newline: str) -> None:
    """Append `value`'s JSON to `out`; `newline` starts a line at its depth."""
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        out.append(scalar(value))
    elif isinstance(value, str):  # subclasses (a StrEnum) in json's order of checks
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))  # an IntEnum is its number, as json writes it
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, list | tuple):
        _write_list(value, out, newline)
    elif isinstance(value, dict):
        _write_dict(value, out, newline)
    else:
        _write(str(value), out, newline)  # json's `default=str`


def _write_list(items: list[object] | tuple[object, ...], out: list[str], newline: str) -> None:
    if not items:
        out.append("[]")
        return
    inner = newline + _INDENT
    separator = "[" + inner
    for item in items:
        out.append(separator)
        scalar = _SCALARS.get(type(item))  # most items: no call to _write
        if scalar is not None:
            out.append(scalar(item))
        else:
            _write(item, out, inner)
        separator = "," + inner
    out.append(newline + "]")


def _write_dict(items: dict[object, object], out: list[str], newline: str) -> None:
    if not items:
        out.append("{}")
        return
    inner = newline + _INDENT
    separator = "{" + inner
    for key, value in items.items():
        name = _string(key if type(key) is str else _key(key))
        scalar = _SCALARS.get(type(value))  # most values: no call to _write
        if scalar is not None:
            out.append(f"{separator}{name}: {scalar(value)}")
        else:
            out.append(f"{separator}{name}: ")
            _write(value, out, inner)
        separator = "," + inner
    out.append(newline + "}")


def _key(key: object) -> str:
    """A dict key as json writes it: text, or a number, bool or None spelled as text."""
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)


# Exact types only: a subclass (a StrEnum, an IntEnum) takes _write's slower checks.
_SCALARS: dict[type, Callable[[Any], str]] = {
    str: _string,
    int: int.__repr__,
    float: _float,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _: "null",
}
