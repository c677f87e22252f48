"""What goes into a worker tarball besides the Python packages: the launcher, its boot
module, the release notes for people who install by hand."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Platform:
    """A system the tarball is built for, named three ways."""

    nix_system: str  # key in the sidecar and in `packages.<system>`
    file_tag: str  # part of the file name
    pip_platform: str  # the wheel platform tag pip chooses for


# Only x86_64 Linux for now: the tarball vendors compiled wheels (pydantic_core, markupsafe)
# built for one CPU, one libc family and one CPython minor version.
PLATFORMS = {
    "x86_64-linux": Platform("x86_64-linux", "linux_x86_64", "manylinux2014_x86_64"),
}
PYTHON = "3.11"


def tarball_name(version: str, platform: Platform) -> str:
    """`worker_<version>_<os>_<arch>.tar.gz`."""
    return f"worker_{version}_{platform.file_tag}.tar.gz"


def top_dir(version: str) -> str:
    """The one folder a tarball unpacks to."""
    return f"worker-{version}"


# POSIX sh: find the unpacked tree from this script's own location (following symlinks, so
# a link in ~/.local/bin works), then hand over to Python in isolated mode (-I: no
# PYTHONPATH, no user site-packages, no current directory on sys.path).
LAUNCHER = """\
#!/bin/sh
# worker {version} for {file_tag}, CPython {python}. Runs from wherever it was unpacked.
set -eu
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in
    /*) self=$link ;;
    *) self=$(dirname "$self")/$link ;;
  esac
done
root=$(cd "$(dirname "$self")/.." && pwd -P)
if [ -n "${{WORKER_PYTHON:-}}" ]; then
  python=$WORKER_PYTHON
elif command -v python{python} >/dev/null 2>&1; then
  python=python{python}
else
  python=python3
fi
exec "$python" -I "$root/lib/worker_boot.py" "$@"
"""

# The worker starts its supervisor and daemon as `sys.executable -m MODULE`. Those children
# must find the bundled packages too; PYTHONPATH would do it but would also leak into the
# coding agents the supervisor starts (and shadow their own pydantic), so `sys.executable`
# points at a tiny wrapper that comes back through this file instead.
PYTHON_WRAPPER = """\
#!/bin/sh
# Used as sys.executable by the bundled worker: runs `-m MODULE` with the bundled packages.
exec "$AI_SKILLS_WORKER_PYTHON" -I "$(dirname "$0")/../lib/worker_boot.py" "$@"
"""

BOOT = '''\
"""Start the bundled worker {version}; run by bin/worker (and libexec/python) with -I."""

import os
import sys

VERSION = "{version}"
SUPPORTED = {supported!r}
EXIT_ENVIRONMENT = 6


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    running = "%d.%d" % sys.version_info[:2]
    if sys.implementation.name != "cpython" or running not in SUPPORTED:
        sys.stderr.write(
            "worker: error: worker %s bundles compiled modules for CPython %s, but %s is "
            "%s %s; set WORKER_PYTHON to a CPython %s interpreter\\n"
            % (VERSION, " or ".join(SUPPORTED), sys.executable,
               sys.implementation.name, running, SUPPORTED[-1])
        )
        return EXIT_ENVIRONMENT
    sys.path.insert(0, here)
    os.environ["AI_SKILLS_WORKER_PYTHON"] = sys.executable
    sys.executable = os.path.join(os.path.dirname(here), "libexec", "python")
    args = sys.argv[1:]
    if args[:1] == ["-m"] and len(args) > 1 and args[1].startswith("ai_skills."):
        import runpy

        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    if args == ["--version"]:
        sys.stdout.write("worker %s\\n" % VERSION)
        return 0
    sys.argv = ["worker", *args]
    from ai_skills.cli.worker_entry import run

    return run()


if __name__ == "__main__":
    sys.exit(main())
'''

README = """\
# worker {version} ({file_tag}, CPython {python})

`worker` runs coding agents (Claude Code, Codex, OpenCode or any command) on tasks, each in
its own git worktree. This archive holds it with every Python package it needs; it was built
from ai-skills commit {commit}.

## Needs

- Linux on x86_64 (glibc 2.17 or newer).
- CPython {python}, found as `python{python}`, else `python3`, on PATH, or named by
  `WORKER_PYTHON=/path/to/python`. The archive bundles compiled modules (pydantic_core,
  markupsafe) built for exactly this Python version; another version is refused with a
  message. Nothing is installed into that Python.
- git.

## Install

    mkdir -p ~/.local/opt ~/.local/bin
    tar -xzf worker_{version}_{file_tag}.tar.gz -C ~/.local/opt
    ln -sfn ~/.local/opt/worker-{version}/bin/worker ~/.local/bin/worker
    worker --version

The launcher finds its files relative to itself, so the folder can live anywhere; move
it and re-point the link. To uninstall, remove the folder and the link.

## Check the download

The SHA-256 of the archive is pinned in `releases/worker.json` of the ai-skills
repository (SRI form, `sha256-<base64>`). `ai-skills release verify` checks it.

## Contents

- `bin/worker`: the launcher (POSIX sh).
- `lib/`: the `ai_skills` package and the packages it needs, unchanged from their wheels
  (their licences are in `lib/*.dist-info/`).
- `libexec/python`: used by the worker to start its own background processes.
- `LICENSE`: the ai-skills licence (MIT).
"""
