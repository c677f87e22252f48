"""`[policy]`: the rules that make a task need a human (sensitive paths, size, cycles)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from ai_skills.worker.config import PolicyConfig


def path_matches(path: str, glob: str) -> bool:
    """fnmatch where a leading `**/` may also match nothing (`**/auth/**` matches `auth/x`)."""
    if fnmatchcase(path, glob):
        return True
    return glob.startswith("**/") and fnmatchcase(path, glob[3:])


def sensitive_paths(paths: list[str], globs: list[str]) -> list[str]:
    """The paths that match one of the sensitive globs."""
    return [p for p in paths if any(path_matches(p, g) for g in globs)]


def policy_reasons(
    policy: PolicyConfig, *, files: list[str], lines: int, change_requests: int
) -> list[str]:
    """Why a human must approve this change; empty when a reviewer may."""
    reasons = []
    hits = sensitive_paths(files, policy.sensitive_paths)
    if hits:
        shown = ", ".join(hits[:5]) + (f" and {len(hits) - 5} more" if len(hits) > 5 else "")
        reasons.append(f"touches sensitive paths: {shown}")
    if lines > policy.max_diff_lines:
        reasons.append(f"diff of {lines} lines (limit {policy.max_diff_lines})")
    if len(files) > policy.max_diff_files:
        reasons.append(f"diff of {len(files)} files (limit {policy.max_diff_files})")
    if change_requests > policy.max_change_requests:
        reasons.append(f"{change_requests} change requests (limit {policy.max_change_requests})")
    return reasons
