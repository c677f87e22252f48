"""The pin sidecar `releases/worker.json`: versions, files, SRI hashes, and URLs.

Nix reads this file (`pkgs/worker/default.nix`), so its shape is a contract:
`{"schema": 1, "latest": V, "urlTemplate": T, "releases": {V: {"commit", "python",
"systems": {NIX_SYSTEM: {"file", "sha256", "url"}}}}}`. `sha256` is an SRI string.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ai_skills.release.errors import ReleaseError, ReleaseUsageError
from ai_skills.util.fs import atomic_write_text
from ai_skills.util.schema_errors import first_problem

SIDECAR_NAME = "worker.json"
SCHEMA = 1

# semver.org 2.0.0, without build metadata: `+` has no place in a file name or a URL path.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
)
_SRI = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")


def sri_sha256(data: bytes) -> str:
    """The SRI form (`sha256-<base64>`) of the SHA-256 of `data`, as Nix writes it."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def sri_from_hex(hex_digest: str) -> str:
    """The SRI form of a hex SHA-256 (what `builtins.hashFile` returns)."""
    return "sha256-" + base64.b64encode(bytes.fromhex(hex_digest)).decode()


def check_version(version: str) -> str:
    """`version` if it is semver MAJOR.MINOR.PATCH[-PRERELEASE]; UsageError otherwise."""
    if not _SEMVER.fullmatch(version):
        raise ReleaseUsageError(
            f"version {version!r} is not semver: use MAJOR.MINOR.PATCH, e.g. 0.1.0 or 1.2.0-rc.1"
        )
    return version


def semver_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """A sort key: numeric parts, then a release above its pre-releases (semver precedence)."""
    match = _SEMVER.fullmatch(version)
    if match is None:
        return (-1, -1, -1, -1, ())
    major, minor, patch, pre = match.groups()
    pre_key = tuple((0, int(p)) if p.isdigit() else (1, p) for p in (pre or "").split(".") if p)
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre_key)


class SystemPin(BaseModel):
    """One tarball of one release for one Nix system."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str
    sha256: str = Field(pattern=_SRI.pattern)
    url: str


class ReleasePin(BaseModel):
    """One released version."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    commit: str
    python: list[str]
    systems: dict[str, SystemPin]


class Sidecar(BaseModel):
    """The whole sidecar file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: int = Field(default=SCHEMA, alias="schema")
    latest: str | None = None
    url_template: str | None = Field(default=None, alias="urlTemplate")
    releases: dict[str, ReleasePin] = {}

    def with_release(self, version: str, pin: ReleasePin, *, url_template: str) -> Sidecar:
        """A copy with `version` set to `pin` and `latest` the highest version."""
        releases = {**self.releases, version: pin}
        latest = max(releases, key=semver_key)
        return Sidecar(schema=SCHEMA, latest=latest, urlTemplate=url_template, releases=releases)

    def to_json(self) -> str:
        """Stable, sorted JSON with a trailing newline (diffs stay one line per change)."""
        data = self.model_dump(by_alias=True, exclude_none=True)
        data["releases"] = dict(sorted(data["releases"].items(), key=lambda kv: semver_key(kv[0])))
        return json.dumps(data, indent=2) + "\n"


def load_sidecar(path: Path) -> Sidecar:
    """Read and validate the sidecar; an absent file is an empty sidecar."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Sidecar()
    try:
        sidecar = Sidecar.model_validate_json(text)
    except ValidationError as error:
        where, problem = first_problem(error)
        raise ReleaseError(
            f"{path}: invalid pin sidecar at {where or 'top level'}: {problem}; "
            "fix it or restore it with `git checkout -- " + path.name + "`"
        ) from None
    if sidecar.schema_ != SCHEMA:
        raise ReleaseError(f"{path}: schema {sidecar.schema_} is not supported (expected {SCHEMA})")
    for version in sidecar.releases:
        if not _SEMVER.fullmatch(version):
            raise ReleaseError(f"{path}: release key {version!r} is not a semver version")
    return sidecar


def save_sidecar(path: Path, sidecar: Sidecar) -> None:
    """Write the sidecar atomically."""
    atomic_write_text(path, sidecar.to_json())


def render_url(template: str, *, file: str, version: str) -> str:
    """The download URL of `file` from a template with `{file}` and optional `{version}`."""
    if "{file}" not in template:
        raise ReleaseUsageError(
            f"URL template {template!r} has no {{file}} placeholder; e.g. "
            "https://github.com/OWNER/REPO/raw/main/releases/{file}"
        )
    return template.replace("{file}", file).replace("{version}", version)
