"""Errors of the release tool; each names the file or value at fault and what to do."""

from __future__ import annotations

from ai_skills.errors import AiSkillsError, UsageError


class ReleaseError(AiSkillsError):
    """A release cannot be built or recorded as asked."""


class ReleaseUsageError(UsageError):
    """Bad input to the release tool: a version that is not semver, a bad URL template."""
