"""Running the real nix-instantiate from tests, with errors that show Nix's own message."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from conftest import require_tool

REPO = Path(__file__).resolve().parent.parent
NIX_DIR = REPO / "tests" / "nix"


def nix_eval(
    file: Path | None = None,
    *,
    expr: str | None = None,
    args: dict[str, str] | None = None,
    argstrs: dict[str, str] | None = None,
    attr: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`nix-instantiate --eval --strict --json` of a file or an expression; not checked."""
    argv = [require_tool("nix-instantiate"), "--eval", "--strict", "--json", "--store", "dummy://"]
    for name, value in (args or {}).items():
        argv += ["--arg", name, value]
    for name, value in (argstrs or {}).items():
        argv += ["--argstr", name, value]
    if attr is not None:
        argv += ["-A", attr]
    argv += ["-E", expr] if expr is not None else [str(file)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO)


def nix_json(file: Path | None = None, **kwargs: Any) -> Any:
    """The JSON value of a successful evaluation; fails the test with Nix's stderr otherwise."""
    proc = nix_eval(file, **kwargs)
    assert proc.returncode == 0, f"nix-instantiate failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


def nix_string(value: str) -> str:
    """A Nix string literal for `value`."""
    return json.dumps(value).replace("${", "\\${")


class NixCode(str):
    """Nix source text that `to_nix` inserts as is (a path literal, a function call)."""


def nix_path(path: Path) -> NixCode:
    """A Nix path value (not a string) for `path`."""
    return NixCode(f"(/. + {nix_string(str(path))})")


def to_nix(value: Any) -> str:
    """A Nix expression for a JSON-like Python value (dict keys quoted, None -> null)."""
    if isinstance(value, NixCode):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return nix_string(value)
    if isinstance(value, Path):
        return nix_string(str(value))
    if isinstance(value, list | tuple):
        return "[ " + " ".join(f"({to_nix(v)})" for v in value) + " ]"
    if isinstance(value, dict):
        return "{ " + " ".join(f"{nix_string(k)} = {to_nix(v)};" for k, v in value.items()) + " }"
    raise TypeError(f"no Nix form for {value!r}")
