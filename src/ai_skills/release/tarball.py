"""A reproducible .tar.gz: same entries in, same bytes out.

Entries are sorted, every directory is listed, times are one fixed value, owners are 0/0
with empty names, modes are 0755/0644, and the gzip header carries no time and no name.
The bytes can still differ between machines whose zlib differs; the pin, not a rebuild,
is what Nix and `release verify` trust.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping
from pathlib import PurePosixPath


def reproducible_tar_gz(files: Mapping[str, tuple[bytes, int]], *, mtime: int) -> bytes:
    """The .tar.gz of `files` ({posix path: (bytes, mode)}) with normalised metadata."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _with_directories(files):
            info = tarfile.TarInfo(path)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path in files:
                data, mode = files[path]
                info.size = len(data)
                info.mode = 0o755 if mode & 0o111 else 0o644
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="", compresslevel=9) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue()


def _with_directories(files: Mapping[str, tuple[bytes, int]]) -> list[str]:
    """Every file and every folder above one, sorted so a folder precedes its contents."""
    names = set(files)
    for path in files:
        names.update(str(parent) for parent in PurePosixPath(path).parents if str(parent) != ".")
    return sorted(names, key=lambda name: PurePosixPath(name).parts)
