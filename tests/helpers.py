"""Builders shared by tests: skill folders, catalogs, repos."""

from __future__ import annotations

from pathlib import Path


def make_skill(parent: Path, name: str, description: str | None = None, *, body: str = "") -> Path:
    """Write `parent/name/SKILL.md` with valid front matter and return the folder."""
    folder = parent / name
    folder.mkdir(parents=True, exist_ok=True)
    text = f"---\nname: {name}\ndescription: {description or 'Does ' + name + ' things.'}\n---\n"
    (folder / "SKILL.md").write_text(text + (body or f"# {name}\n"), encoding="utf-8")
    return folder


def make_catalog(root: Path, names: list[str]) -> Path:
    """A folder of valid skills named `names`."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        make_skill(root, name)
    return root


def links_under(folder: Path) -> dict[str, str]:
    """Every symlink below `folder` (relative path -> link text)."""
    import os

    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() and ".git" not in path.parts:
            found[str(path.relative_to(folder))] = os.readlink(path)
    return found


def kill_at_pause(argv: list[str], cwd: Path, *, marker: Path, point: str = "before-switch"
                  ) -> None:
    """Run `argv` until it stops at the pause point `point`, then SIGKILL it (a crash)."""
    import os
    import signal
    import subprocess
    import time

    env = dict(os.environ, AI_SKILLS_TEST_PAUSE=point, AI_SKILLS_TEST_PAUSE_FILE=str(marker))
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), f"`{' '.join(argv)}` never reached its pause point {point}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    marker.unlink()
