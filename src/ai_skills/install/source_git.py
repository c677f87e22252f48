"""Running git against a source: the one builder of command lines with outside input.

Everything a source could use to run code is switched off here (hooks, fsmonitor,
submodules, protocols such as `ext::`), every URL and ref is checked against its grammar
and passed after `--end-of-options`, and every run ends after `AI_SKILLS_GIT_TIMEOUT`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ai_skills.errors import AiSkillsError
from ai_skills.install.git_values import URL_SCHEMES, operand_problem, shown
from ai_skills.util.git import run_git

# Protocols a source may use. `ext::` and friends can run commands; plain http is unsigned.
ALLOWED_PROTOCOLS = ":".join(URL_SCHEMES)
# Environment for every git run against a source: no system config, no prompts, no LFS.
SAFE_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_LFS_SKIP_SMUDGE": "1",
}
# Config that keeps code in (or named by) a source from running: hooks, fsmonitor, submodules.
SAFE_GIT_CONFIG = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "submodule.recurse=false",
    "-c", "fetch.recurseSubmodules=false",
    "-c", "protocol.version=2",
)
DEFAULT_GIT_TIMEOUT = 600.0


class SourceError(AiSkillsError):
    """A source cannot be understood or fetched."""


def git_command(
    command: str,
    *options: str,
    operands: Sequence[tuple[str, str]] = (),
    config: Sequence[str] = (),
) -> list[str]:
    """Arguments for `git COMMAND OPTIONS --end-of-options OPERANDS` against a source.

    The one builder of git command lines that carry outside input (URLs and refs from lock
    files and the command line): each operand is checked against the grammar of its kind
    ('url', 'ref', 'remote') and comes after `--end-of-options`, so even a value that slipped
    past its reader cannot become an option. Options and config are this module's constants.
    """
    if any(not option.startswith("-") for option in options):
        raise ValueError(f"git options must start with '-': {options}")
    for kind, value in operands:
        problem = operand_problem("ref" if kind == "remote" else kind, value)
        if problem is not None:
            raise SourceError(f"{shown(value)} is not a git {kind} ({problem}); not run")
    extra = [arg for item in config for arg in ("-c", item)]
    tail = ["--end-of-options", *(value for _, value in operands)] if operands else []
    return [*SAFE_GIT_CONFIG, *extra, command, *options, *tail]


def git_timeout(env: Mapping[str, str]) -> float:
    """Seconds one git run against a source may take (`AI_SKILLS_GIT_TIMEOUT`, else 600).

    A source named in a lock can be a server that accepts the connection and never
    answers; `ai-skills check` runs in CI on pull requests, so it must end on its own.
    """
    value = env.get("AI_SKILLS_GIT_TIMEOUT", "")
    try:
        seconds = float(value) if value else DEFAULT_GIT_TIMEOUT
    except ValueError:
        seconds = 0
    if not 0 < seconds < float("inf"):
        raise SourceError(f"AI_SKILLS_GIT_TIMEOUT={value!r} is not a number of seconds above 0")
    return seconds


def run_source_git(
    args: list[str],
    cwd: Path,
    *,
    input_text: str | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> str:
    """Run `git ARGS` (from `git_command`) against a source, in the safe environment, bounded;
    `meanwhile` runs once git has started (see `run_git`)."""
    timeout = git_timeout(os.environ)
    return run_git(args, cwd=cwd, env=SAFE_GIT_ENV, input_text=input_text,
                   timeout=timeout, meanwhile=meanwhile).stdout
