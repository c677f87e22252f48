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
    """An external command (git, nix, ...) failed."""

    def __init__(self, *, argv: list[str], returncode: int, stderr: str) -> None:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no error output"
        super().__init__(f"`{' '.join(argv)}` exited with {returncode}: {detail}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class ManifestError(AiSkillsError):
    """A `.skills` manifest cannot be read."""


class LockBusyError(AiSkillsError):
    """Another process holds a lock for longer than we are willing to wait."""
