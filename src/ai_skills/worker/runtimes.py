"""Agent runtimes: headless presets (prompt on stdin) and a generic command."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping

from ai_skills.errors import UsageError
from ai_skills.worker.errors import RuntimeNotFoundError

# Headless launches with structured output, as the agents document them (November 2026).
PRESETS: Mapping[str, tuple[str, ...]] = {
    "claude": ("claude", "-p", "--output-format", "stream-json", "--verbose"),
    "codex": ("codex", "exec", "--json"),
    "opencode": ("opencode", "run", "--format", "json"),
}

DEFAULT_RUNTIME = "claude"


def split_command(command: str | list[str]) -> list[str]:
    """A command given as one shell-quoted string or as a list, as argv."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if not argv:
        raise UsageError("runtime command is empty; give a program to run")
    return argv


def build_command(*, runtime: str | None, runtime_command: str | list[str] | None) -> list[str]:
    """The agent argv: an explicit command wins over a preset name; default `claude`."""
    if runtime_command is not None:
        return split_command(runtime_command)
    name = runtime or DEFAULT_RUNTIME
    if name not in PRESETS:
        raise UsageError(
            f"unknown runtime {name!r}; use one of {', '.join(PRESETS)} or --runtime-command"
        )
    return list(PRESETS[name])


def check_available(argv: list[str], *, task_id: str, path: str | None = None) -> str:
    """The resolved program path, or RuntimeNotFoundError naming it."""
    program = argv[0]
    found = shutil.which(program, path=path if path is not None else os.environ.get("PATH"))
    if found is None:
        raise RuntimeNotFoundError(program=program, task_id=task_id)
    return found
