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
