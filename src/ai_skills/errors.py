"""The one exception hierarchy; the CLI edge maps it to exit codes and one-line messages."""

from __future__ import annotations


class AiSkillsError(Exception):
    """Base of every error a user can cause or fix; never shown with a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(AiSkillsError):
    """Bad command-line input."""

    exit_code = 2


class CommandError(AiSkillsError):
    """An external command (git, nix, ...) failed: what was run, its exit code, all it said."""

    def __init__(self, *, argv: list[str], returncode: int, stderr: str) -> None:
        import shlex

        # Every line, not just the last: git often ends with advice ("and the repository
        # exists.") after the line that says what went wrong.
        detail = " ".join(printable(stderr).split()) or "no error output"
        if len(detail) > MAX_DETAIL:
            detail = detail[:MAX_DETAIL] + " ..."
        command = shlex.join(printable(arg) for arg in argv)
        super().__init__(f"`{command}` exited with {returncode}: {detail}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


MAX_DETAIL = 2000


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control characters (escape sequences) become '?'."""
    return "".join(
        c if c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) else "?" for c in text
    )


class ManifestError(AiSkillsError):
    """A `.skills` manifest cannot be read."""


class LockBusyError(AiSkillsError):
    """Another process holds a lock for longer than we are willing to wait."""
