"""What a value read from outside (a lock, an npx lock, the command line) may be before git sees it.

Lock files arrive in pull requests, so a ref or URL in one is a stranger's text. Each check
returns why a value is refused (or None); readers turn that into one line naming the file
and field, and `source_git.git_command` checks again right before git runs.
"""

from __future__ import annotations

import re

MAX_REF = 255
MAX_URL = 4096
MAX_SUBPATH = 4096
URL_SCHEMES = ("https", "ssh", "git", "file")
FULL_SHA = re.compile(r"[0-9a-f]{40}")
# user@host:path (scp-like ssh); user and host may not start with '-' (they reach ssh).
SCP_LIKE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*@[A-Za-z0-9][A-Za-z0-9_.-]*:[^/].*", re.S)
_SCHEME_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/]*)(.*)", re.S)
# Characters `git check-ref-format` refuses anywhere in a ref.
_REF_FORBIDDEN = frozenset(" ~^:?*[\\")
# Suffixes our own code appends to a checked ref to peel it (never read from outside).
PEEL_SUFFIXES = ("^{commit}", "^{}")


def shown(value: str, limit: int = 200) -> str:
    """`value` quoted for a one-line message: escapes made visible, long text cut."""
    text = repr(value[:limit])
    return text + ("..." if len(value) > limit else "")


def text_problem(value: str, *, spaces: bool) -> str | None:
    """Problems every outside value shares: empty, an option, not text, control characters."""
    if not value:
        return "it is empty"
    if value.startswith("-"):
        return "it starts with '-'"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not UTF-8 text"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "it holds a control character"
    if not spaces and any(c.isspace() for c in value):
        return "it holds a space"
    return None


def ref_problem(ref: str) -> str | None:
    """Why `ref` is not a ref `git check-ref-format --allow-onelevel` accepts, or None."""
    problem = text_problem(ref, spaces=False)
    if problem is not None:
        return problem
    if len(ref) > MAX_REF:
        return f"it is longer than {MAX_REF} characters"
    bad = sorted(_REF_FORBIDDEN.intersection(ref))
    if bad:
        return f"it holds {bad[0]!r}"
    for part, reason in (("..", "'..'"), ("@{", "'@{'"), ("//", "an empty component")):
        if part in ref:
            return f"it holds {reason}"
    if ref == "@" or ref.startswith("/") or ref.endswith(("/", ".")):
        return "it is '@' or starts with '/' or ends with '/' or '.'"
    if any(c.startswith(".") or c.endswith(".lock") for c in ref.split("/")):
        return "a component starts with '.' or ends with '.lock'"
    return None


def url_problem(url: str) -> str | None:
    """Why `url` is not a git URL we fetch from (scheme://... or user@host:path), or None."""
    problem = text_problem(url, spaces=False)
    if problem is not None:
        return problem
    if len(url) > MAX_URL:
        return f"it is longer than {MAX_URL} characters"
    match = _SCHEME_URL.fullmatch(url)
    if match is None:
        if SCP_LIKE.fullmatch(url):
            return None
        return f"it is not a {', '.join(s + '://' for s in URL_SCHEMES)} or user@host:path URL"
    scheme, authority, rest = match.groups()
    if scheme.lower() not in URL_SCHEMES:
        return f"{scheme}:// is not allowed (use {', '.join(s + '://' for s in URL_SCHEMES)})"
    user, _, host = authority.rpartition("@")
    if user.startswith("-") or host.startswith("-"):
        return "its user or host starts with '-'"
    if scheme.lower() == "file" and not rest.startswith("/"):
        return "a file:// URL needs an absolute path"
    return None


def subpath_problem(path: str) -> str | None:
    """Why `path` is not a folder inside a source ('' is the top), or None."""
    if path == "":
        return None
    problem = text_problem(path, spaces=True)
    if problem is not None:
        return problem
    if len(path) > MAX_SUBPATH:
        return f"it is longer than {MAX_SUBPATH} characters"
    if "\\" in path or path.startswith("/"):
        return "it is absolute or holds a backslash"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "it holds an empty, '.' or '..' component"
    return None


def refspec_problem(spec: str, *, tracking: bool = False) -> str | None:
    """Why `spec` is not a `SRC:DST` refspec of two refs, or None.

    A leading '+' (a forced update) is refused, except with `tracking` for a fetch into a
    remote-tracking ref (`+SRC:refs/remotes/...`): a mirror of what the remote holds,
    never a branch of ours.
    """
    text = spec[1:] if tracking and spec.startswith("+") else spec
    if text.startswith("+"):
        return "it is a forced update ('+')"
    src, colon, dst = text.partition(":")
    if not colon:
        return "it has no ':'"
    if tracking and not dst.startswith("refs/remotes/"):
        return "a forced fetch may only write under refs/remotes/"
    for side in (src, dst):
        problem = ref_problem(side)
        if problem is not None:
            return problem
    return None


def operand_problem(kind: str, value: str) -> str | None:
    """The check for one operand of a git command: a 'url', a 'ref' (maybe peeled), or a
    'refspec' ('SRC:DST', never forced) or 'fetchspec' (may force a remote-tracking ref)."""
    if kind == "url":
        return url_problem(value)
    if kind in ("refspec", "fetchspec"):
        return refspec_problem(value, tracking=kind == "fetchspec")
    if kind == "ref":
        for suffix in PEEL_SUFFIXES:
            if value.endswith(suffix):
                return ref_problem(value.removesuffix(suffix))
        return ref_problem(value)
    raise ValueError(f"unknown operand kind {kind!r}")
