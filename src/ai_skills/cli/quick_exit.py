"""How the console scripts end: flush, then `os._exit`, without the interpreter's teardown.

Its own module, importing only `os` and `sys`: `use-skills` ends with it on every direnv
reload, where anything more shows in the timing (benchmarks/use_skills_bench.py).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def silence_stdout() -> None:
    """Point stdout at /dev/null: its reader went away (`| head`), and a later flush (Python
    flushes at exit) must not fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def exit_now(code: int) -> NoReturn:
    """Flush stdout and stderr, then exit at once, without the interpreter's teardown.

    How the console scripts end, once a command's work is done and committed (files are
    written atomically and closed, stores committed, git children waited for, and no
    command leaves a thread that must finish): freeing every module they imported cost a
    typer command about 15 ms, a cold `ai-skills add` about 8 ms, a first `use-skills`
    sync about 5 ms and `worker status` (with its store, which SQLite checkpoints as its
    last connection closes) about 3 ms (benchmarks/). A reader that went away makes it
    exit 1, quietly, as a typer command does.
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        code = 1
    try:  # noqa: SIM105 (contextlib.suppress: an import these entries avoid)
        sys.stderr.flush()
    except OSError:
        pass  # nobody reads stderr either: the exit code still says how it went
    os._exit(code)
