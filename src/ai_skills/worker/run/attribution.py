"""Containment by attribution: each sandboxed attempt writes outside its workspace only into
its own trap, so whatever is found there is that task's finding and no other's.

bubblewrap 0.8 has no overlay mounts, so the main checkout cannot be shown read-only with
writes diverted. Instead the attempt's trap folder is mounted over the main checkout (and
one over the folder of the other tasks' workspaces), with the few things the agent needs
from there (the main repository's objects, git-installed skills) mounted read-only on top.
A write to the main checkout's path succeeds, lands in the trap, and the real checkout never
changes; after the agent exits the supervisor lists what the trap holds beyond the
skeleton it made for those mounts. Writes anywhere else fail (read-only file system).
"""

from __future__ import annotations

import os
from pathlib import Path

from ai_skills.worker.run.containment import Breach
from ai_skills.worker.run.sandbox import Layout, trap_mounts

_MAX_ENTRIES = 10_000
_SHOWN = 5


def _mount_points(layout: Layout) -> list[Path]:
    points = [p for p, _ in trap_mounts(layout)]
    points.append(layout.workspace)
    points += [real for _, real in layout.state]
    points += layout.shared
    return points


def _traps(layout: Layout) -> list[tuple[str, Path, Path]]:
    """(finding kind, the real folder it covers, the trap folder) of an attempt."""
    found = [("main_checkout", layout.main, layout.trap / "checkout")]
    root = layout.workspaces_root
    if root is not None:
        found.append(("workspaces", root, layout.trap / "workspaces"))
    return found


def skeleton(layout: Layout) -> set[Path]:
    """Paths inside the traps that the sandbox itself needs (mount points and their parents)."""
    paths: set[Path] = set()
    for _kind, real, trap in _traps(layout):
        paths.add(trap)
        for point in _mount_points(layout):
            if point == real or real not in point.parents:
                continue
            relative = point.relative_to(real)
            for depth in range(1, len(relative.parts) + 1):
                paths.add(trap.joinpath(*relative.parts[:depth]))
    return paths


def prepare_traps(layout: Layout) -> None:
    """Make the traps and their skeleton before the agent starts (bwrap mounts onto them)."""
    for _kind, _real, trap in _traps(layout):
        trap.mkdir(parents=True, exist_ok=True)
    files = {p for p in _mount_points(layout) if p.is_file()}
    for _kind, real, trap in _traps(layout):
        for path in sorted(p for p in skeleton(layout) if trap in p.parents):
            if real / path.relative_to(trap) in files:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            else:
                path.mkdir(parents=True, exist_ok=True)


def trap_findings(layout: Layout) -> list[Breach]:
    """What the agent wrote where its sandbox put a trap: one finding per trap written to."""
    keep = skeleton(layout)
    findings: list[Breach] = []
    for kind, real, trap in _traps(layout):
        written = _written(trap, keep)
        if not written:
            continue
        shown = ", ".join(written[:_SHOWN]) + (
            f" and {len(written) - _SHOWN} more" if len(written) > _SHOWN else ""
        )
        findings.append(
            Breach(
                kind,
                str(real),
                f"blocked {len(written)} write(s): {shown} (nothing changed there; what it "
                f"wrote is kept in {trap})",
            )
        )
    return findings


def _written(trap: Path, keep: set[Path]) -> list[str]:
    """The topmost paths in a trap that are not its skeleton (no symlink is followed)."""
    if not trap.is_dir():
        return []
    found: list[str] = []
    for folder, dirs, files in os.walk(trap):
        here = Path(folder)
        new = [here / n for n in [*dirs, *files] if here / n not in keep]
        found += [str(path.relative_to(trap)) for path in new]
        dirs[:] = [d for d in dirs if here / d in keep]
        if len(found) >= _MAX_ENTRIES:
            break
    return sorted(found)
