"""Agent runtimes: headless presets (prompt on stdin) and a generic command."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from ai_skills.errors import UsageError
from ai_skills.worker.errors import RuntimeNotFoundError

# Headless launches with structured output that can work unattended, also as root: each was
# run against the real program (tests/agents/, versions in docs/worker.md). Why each flag:
# - Claude Code `-p` denies every tool call that needs a permission ("... require approval"),
#   so a plain `git commit` fails. `--permission-mode bypassPermissions` is refused as root
#   unless IS_SANDBOX=1 (a claim we cannot make yet); `acceptEdits` plus `--allowedTools Bash`
#   allows file edits in the working folder and every shell command, also as root.
# - Codex's own sandbox needs `codex-linux-sandbox` and user namespaces (it fails here with
#   "bwrap: execvp codex-linux-sandbox"); the documented switch for "the caller sandboxes me"
#   is `--dangerously-bypass-approvals-and-sandbox`.
# - OpenCode allows its tools by default; `--print-logs --log-level WARN` puts its provider
#   errors (it retries a quota error silently, for minutes) into the log the supervisor reads.
PRESETS: Mapping[str, tuple[str, ...]] = {
    # `--allowedTools` takes any number of values: it must not come last, or it would
    # swallow a prompt or a profile's `args` after it.
    "claude": (
        "claude", "-p", "--allowedTools", "Bash", "--permission-mode", "acceptEdits",
        "--output-format", "stream-json", "--verbose",
    ),
    "codex": ("codex", "exec", "--json", "--dangerously-bypass-approvals-and-sandbox"),
    "opencode": ("opencode", "run", "--format", "json", "--print-logs", "--log-level", "WARN"),
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


def worker_program() -> str:
    """The `worker` command for an agent's prompt, by absolute path, shell-quoted.

    An agent's shell may not keep our PATH: Codex runs commands in a login shell, and
    Debian's /etc/profile resets PATH, so a bare `worker` is "command not found" there.
    """
    beside = Path(sys.executable).parent / "worker"
    if beside.is_file() and os.access(beside, os.X_OK):
        return shlex.quote(str(beside))
    found = shutil.which("worker")
    if found is not None:
        return shlex.quote(os.path.abspath(found))
    return shlex.join([sys.executable, "-m", "ai_skills.cli.worker_entry"])
