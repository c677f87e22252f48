"""What goes into a worker tarball besides the Python packages: the launcher, its boot
module, the release notes for people who install by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources


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


def release_file(name: str, **values: str) -> str:
    """The text of `release/files/NAME` with each `@KEY@` replaced by `values[KEY]`.

    The files are real files so that ruff and mypy check the boot module:
    - `worker.sh` (bin/worker): POSIX sh; finds the unpacked tree from its own location
      (following symlinks, so a link in ~/.local/bin works), then hands over to Python in
      isolated mode (-I: no PYTHONPATH, no user site-packages, no current directory).
    - `python.sh` (libexec/python): the worker starts its supervisor and daemon as
      `sys.executable -m MODULE`; those children must find the bundled packages too.
      PYTHONPATH would leak into the coding agents the supervisor starts (and shadow their
      own pydantic), so `sys.executable` points at this wrapper, which comes back through
      the boot module instead.
    - `worker_boot.py` (lib/worker_boot.py), `README.md`.
    """
    text = (resources.files(__package__) / "files" / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.search(r"@[a-z_]+@", text)
    if left is not None:
        raise ValueError(f"release/files/{name}: no value given for {left.group()}")
    return text
