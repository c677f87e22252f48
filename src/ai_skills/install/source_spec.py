"""What the user named as a source: a git URL, an owner/repo shorthand or a local folder.

`parse_source` turns it into a `SourceSpec` (a URL git may fetch, and the folder inside
it); `normalise_url` is a URL's identity (the cache and the lock compare sources by it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from ai_skills.errors import CommandError
from ai_skills.install.git_values import SCP_LIKE, URL_SCHEMES, shown, text_problem, url_problem
from ai_skills.install.source_git import (
    ALLOWED_PROTOCOLS,
    SourceError,
    git_command,
    run_source_git,
)

_SHORTHAND = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*$")
_URL_SCHEMES = tuple(f"{scheme}://" for scheme in URL_SCHEMES)


class SourceSpec(NamedTuple):
    """A git URL to fetch and the folder inside it to look for skills in ('' = all)."""

    url: str
    subpath: str = ""


def parse_source(text: str, *, cwd: Path) -> SourceSpec:
    """Turn what the user typed (URL, owner/repo, local path) into a SourceSpec."""
    text = text.strip()
    problem = text_problem(text, spaces=True) if text else None
    if problem is not None:
        raise SourceError(f"{shown(text)} is not a git URL, an owner/repo shorthand or a "
                          f"folder ({problem})")
    if text.startswith("http://"):
        raise SourceError(f"{text}: plain http is not allowed; use an https:// URL")
    if text.startswith(_URL_SCHEMES) or SCP_LIKE.fullmatch(text):
        problem = url_problem(text)
        if problem is not None:
            raise SourceError(f"{shown(text)} is not a git URL ({problem})")
        return SourceSpec(text.rstrip("/"))
    if "://" in text or text.startswith("ext::"):
        raise SourceError(
            f"{text}: unsupported protocol; sources may use {ALLOWED_PROTOCOLS.replace(':', ', ')}"
        )
    local = (cwd / Path(text).expanduser()).resolve()
    if local.exists() or text.startswith((".", "/", "~")):
        return _local_source(local, text)
    if _SHORTHAND.match(text):
        return SourceSpec(f"https://github.com/{text.removesuffix('.git')}.git")
    raise SourceError(
        f"{text}: not a git URL, an owner/repo shorthand, or an existing folder"
    )


def _local_source(path: Path, text: str) -> SourceSpec:
    if not path.is_dir():
        raise SourceError(f"{text}: no such folder")
    try:
        toplevel = run_source_git(git_command("rev-parse", "--show-toplevel"), path)
        top = Path(toplevel.strip()).resolve()
    except CommandError:
        raise SourceError(
            f"{path}: not inside a git repository; installs are pinned to a commit, so "
            "commit the skills to git first (`git init && git add -A && git commit`)"
        ) from None
    return SourceSpec(top.as_uri(), "" if path == top else path.relative_to(top).as_posix())


def normalise_url(url: str) -> str:
    """The cache identity of a URL: lower-case scheme and host, no trailing '/' or '.git'."""
    url = url.strip().rstrip("/").removesuffix(".git")
    match = re.match(r"^([a-z]+)://([^/]*)(.*)$", url, re.IGNORECASE)
    if match:
        scheme, host, rest = match.groups()
        return f"{scheme.lower()}://{host.lower()}{rest}"
    return url
