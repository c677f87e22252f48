"""Branch names read from the files git keeps its refs in, without starting git.

`worker status` lists the task branches on every poll, and starting git cost it more than
the rest of its work (benchmarks/worker_bench.py). Only git's "files" ref storage is read
(loose refs under `refs/`, and `packed-refs`); for anything else, such as a reftable
repository, `branches_under` answers None and the caller asks git.
"""

from __future__ import annotations

import os

_HEX = b"0123456789abcdef"


def branches_under(common_dir: str, prefix: str) -> set[str] | None:
    """The branches named `<prefix>...` (as `refs/heads/<prefix>...` without `refs/heads/`),
    or None when this repository's refs are not stored in files this can read.

    `prefix` ends with `/`, like git's for-each-ref pattern `refs/heads/worker/`.
    """
    heads = os.path.join(common_dir, "refs", "heads")
    if os.path.exists(os.path.join(common_dir, "reftable")) or not os.path.isdir(heads):
        return None
    found = _packed_branches(common_dir, prefix)
    found.update(_loose_branches(heads, prefix))
    return found


def _packed_branches(common_dir: str, prefix: str) -> set[str]:
    want = b"refs/heads/" + os.fsencode(prefix)
    found: set[str] = set()
    try:
        with open(os.path.join(common_dir, "packed-refs"), "rb") as packed:
            for line in packed:
                # `<id> <refname>`; `#` starts the header, `^` a peeled tag's target.
                _, space, name = line.rstrip(b"\n").partition(b" ")
                if space and line[:1] not in (b"#", b"^") and name.startswith(want):
                    found.add(os.fsdecode(name.removeprefix(b"refs/heads/")))
    except FileNotFoundError:
        pass
    return found


def _loose_branches(heads: str, prefix: str) -> set[str]:
    found: set[str] = set()
    # A deleted loose ref whose packed copy is gone too is absent from both; a loose one
    # overrides its packed copy, which names the same branch anyway.
    for folder, _, files in os.walk(os.path.join(heads, prefix)):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".lock") or not _is_ref_file(path):
                continue  # a ref being written by git right now, or a broken one
            found.add(os.path.relpath(path, heads))
    return found


def _is_ref_file(path: str) -> bool:
    """True when `path` starts as git reads a loose ref: `ref:` (a symbolic ref), or an object
    id (SHA-1 or SHA-256) then the end or a space; for-each-ref skips anything else."""
    try:
        with open(path, "rb") as handle:
            held = handle.read(80)
    except OSError:
        return False  # gone since it was listed, or not readable: git skips it too
    if held.startswith(b"ref:"):
        return True
    for size in (40, 64):
        oid, after = held[:size], held[size:size + 1]
        if len(oid) == size and not oid.strip(_HEX) and after in (b"", b" ", b"\t", b"\n"):
            return True
    return False
