"""Whether two declared scopes (path globs) may touch the same files."""

from __future__ import annotations

from fnmatch import fnmatchcase

_WILDCARDS = "*?["


def literal_prefix(glob: str) -> str:
    """The part of `glob` before its first wildcard."""
    cut = min((i for i, ch in enumerate(glob) if ch in _WILDCARDS), default=len(glob))
    return glob[:cut]


def globs_overlap(a: str, b: str) -> bool:
    """Conservative: True unless the two globs provably name disjoint paths.

    Exact glob intersection is costly and a false "disjoint" lets two agents edit the same
    file, so we only call globs disjoint when their literal prefixes diverge.
    """
    a, b = a.strip("/"), b.strip("/")
    if fnmatchcase(a, b) or fnmatchcase(b, a):
        return True
    pa, pb = literal_prefix(a), literal_prefix(b)
    return pa.startswith(pb) or pb.startswith(pa)


def scopes_overlap(mine: list[str], theirs: list[str]) -> list[tuple[str, str]]:
    """Pairs of overlapping globs; a task without scopes overlaps nothing."""
    return [(a, b) for a in mine for b in theirs if globs_overlap(a, b)]
