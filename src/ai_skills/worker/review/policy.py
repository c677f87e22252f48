"""`[policy]`: the rules that make a task need a human (sensitive paths, size, cycles), and
whether a change stays inside its task's declared scopes."""

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


def outside_scopes(paths: list[str], scopes: list[str]) -> list[str]:
    """The paths that match none of a task's declared scopes (none declared: none outside)."""
    if not scopes:
        return []
    return [p for p in paths if not any(in_scope(p, s) for s in scopes)]


def in_scope(path: str, scope: str) -> bool:
    """`path` matches the glob `scope`; a scope without wildcards names a file or a folder."""
    scope = scope.strip("/")
    if not any(ch in scope for ch in "*?["):
        return path == scope or path.startswith(scope + "/")
    return path_matches(path, scope)


def scope_finding(paths: list[str], scopes: list[str]) -> str:
    """`changes files outside its declared scope (SCOPES): PATHS`, or "" when there are none."""
    outside = outside_scopes(paths, scopes)
    if not outside:
        return ""
    return f"changes files outside its declared scope ({', '.join(scopes)}): {_shown(outside)}"


def _shown(paths: list[str]) -> str:
    return ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def policy_reasons(
    policy: PolicyConfig,
    *,
    files: list[str],
    lines: int,
    change_requests: int,
    scopes: list[str] | None = None,
) -> list[str]:
    """Why a human must approve this change; empty when a reviewer may."""
    reasons = []
    outside = scope_finding(files, scopes or [])
    if outside and policy.outside_scope == "needs_human":
        reasons.append(outside)
    hits = sensitive_paths(files, policy.sensitive_paths)
    if hits:
        reasons.append(f"touches sensitive paths: {_shown(hits)}")
    if lines > policy.max_diff_lines:
        reasons.append(f"diff of {lines} lines (limit {policy.max_diff_lines})")
    if len(files) > policy.max_diff_files:
        reasons.append(f"diff of {len(files)} files (limit {policy.max_diff_files})")
    if change_requests > policy.max_change_requests:
        reasons.append(f"{change_requests} change requests (limit {policy.max_change_requests})")
    return reasons
