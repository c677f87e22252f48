"""The one output layer: JSON for scripts, short lines for people, errors on stderr."""

from __future__ import annotations

import os
import sys

from ai_skills.errors import AiSkillsError

TYPE_CHECKING = False  # `typing` costs milliseconds on hot paths (worker report, add)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from contextlib import AbstractContextManager
    from typing import Any, TypeVar

    T = TypeVar("T")


def use_color() -> bool:
    """Color only on a terminal and never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def emit_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout (`json.dumps(data, indent=2, default=str)`)."""
    from ai_skills.util.json_text import indented_json  # not `json`: see there

    sys.stdout.write(indented_json(data) + "\n")


def json_ready(value: Any) -> Any:
    """A result's JSON form: its `as_dict()` (see `results.JsonResult`), item by item in a list."""
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else value


def render(
    result: Any,
    *,
    as_json: bool,
    lines: Callable[[], Iterable[str]] | None = None,
    notes: Callable[[], Iterable[str]] | None = None,
) -> None:
    """Print a command's result: with --json, `result` as JSON on stdout; else `lines()` on
    stdout (what a person reads) and `notes()` on stderr (summaries, hints), one per line."""
    if as_json:
        emit_json(json_ready(result))
        return
    for line in lines() if lines is not None else ():
        say(line)
    for line in notes() if notes is not None else ():
        note(line)


def say(line: str = "") -> None:
    """A line of normal output on stdout."""
    sys.stdout.write(line + "\n")


def note(line: str) -> None:
    """A line of progress or change report on stderr (keeps stdout clean for data)."""
    sys.stderr.write(line + "\n")


def progress_after(prog: str, delay: float) -> Callable[[str], AbstractContextManager[None]]:
    """A progress callback: `with progress(msg):` notes `PROG: msg ...` only if the block
    takes longer than `delay` seconds, so fast work (and cache hits) print nothing."""
    import contextlib
    import threading

    @contextlib.contextmanager
    def progress(message: str) -> Iterator[None]:
        timer = threading.Timer(delay, note, args=(f"{prog}: {message} ...",))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    return progress


def fail(error: AiSkillsError, *, prog: str) -> int:
    """Print a user error as one line on stderr and return its exit code."""
    sys.stderr.write(f"{prog}: error: {error}\n")
    return error.exit_code


def run_guarded(prog: str, main: Callable[[], T]) -> T | int:
    """Call `main`, turning AiSkillsError into a one-line message and its exit code."""
    try:
        return main()
    except AiSkillsError as error:
        return fail(error, prog=prog)
