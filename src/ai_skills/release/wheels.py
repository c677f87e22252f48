"""The worker's third-party packages: pinned wheels from PyPI, unpacked without pip's install
step so the result depends only on the wheel bytes (no RECORD with local paths, no .pyc)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ai_skills.errors import CommandError
from ai_skills.release.errors import ReleaseError

# `name==version --hash=sha256:HEX [--hash=...]`, one requirement per logical line.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)((?:\s+--hash=sha256:[0-9a-f]{64})+)$")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")

# From a wheel's .dist-info only what names the package and its licence travels along.
_KEPT_DIST_INFO = re.compile(r"^(METADATA|licenses/.*|(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*)$")


@dataclass(frozen=True)
class Pin:
    """One exact requirement with the wheel hashes it accepts."""

    name: str
    version: str
    hashes: tuple[str, ...]

    def line(self) -> str:
        """The requirement as pip reads it with --require-hashes."""
        return f"{self.name}=={self.version} " + " ".join(f"--hash=sha256:{h}" for h in self.hashes)


@dataclass(frozen=True)
class Target:
    """The interpreter and platform the wheels are chosen for."""

    python: str  # e.g. "3.11"
    platform: str  # pip --platform, e.g. "manylinux2014_x86_64"

    @property
    def abi(self) -> str:
        """The CPython ABI tag, e.g. cp311."""
        return "cp" + self.python.replace(".", "")


def parse_requirements(text: str, *, source: str) -> list[Pin]:
    """Exact, hashed pins from a requirements file; anything else is refused, naming the line."""
    pins: list[Pin] = []
    joined = re.sub(r"\\\n", " ", text)
    for number, raw in enumerate(joined.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        match = _PIN.match(re.sub(r"\s+", " ", line))
        if match is None:
            raise ReleaseError(
                f"{source}:{number}: expected `name==version --hash=sha256:HEX`, "
                f"got {raw.strip()!r}"
            )
        pins.append(Pin(match[1], match[2], tuple(_HASH.findall(match[3]))))
    return sorted(pins, key=lambda p: p.name.lower())


def fetch_wheels(pins: list[Pin], target: Target, *, cache: Path) -> list[Path]:
    """One verified wheel per pin, from `cache` or downloaded by pip into it."""
    found = [(pin, _cached(pin, cache)) for pin in pins]  # hashes each cached wheel once
    missing = [pin for pin, wheel in found if wheel is None]
    if missing:
        _download(missing, target, cache)
        found = [(pin, wheel or _cached(pin, cache)) for pin, wheel in found]
    wheels = []
    for pin, wheel in found:
        if wheel is None:
            raise ReleaseError(f"pip gave no wheel for {pin.name}=={pin.version} matching its hash")
        wheels.append(wheel)
    return wheels


def _cached(pin: Pin, cache: Path) -> Path | None:
    for digest in pin.hashes:
        for wheel in sorted((cache / digest).glob("*.whl")):
            if hashlib.sha256(wheel.read_bytes()).hexdigest() == digest:
                return wheel
    return None


def _download(pins: list[Pin], target: Target, cache: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="ai-skills-wheels-") as temp:
        requirements = Path(temp) / "requirements.txt"
        requirements.write_text("".join(pin.line() + "\n" for pin in pins))
        argv = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--require-hashes", "--platform", target.platform,
            "--python-version", target.python, "--implementation", "cp", "--abi", target.abi,
            "--dest", str(Path(temp) / "out"), "-r", str(requirements),
        ]  # fmt: skip
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CommandError(argv=argv, returncode=proc.returncode, stderr=proc.stderr)
        for wheel in sorted((Path(temp) / "out").glob("*.whl")):
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            (cache / digest).mkdir(parents=True, exist_ok=True)
            wheel.replace(cache / digest / wheel.name)


def wheel_files(wheel: Path) -> dict[str, tuple[bytes, int]]:
    """The files a wheel puts on sys.path: {relative path: (bytes, mode)}, trimmed for size."""
    files: dict[str, tuple[bytes, int]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            rel = _runtime_path(info.filename)
            if rel is None or info.is_dir():
                continue
            mode = 0o755 if rel.endswith(".so") else 0o644
            files[rel] = (archive.read(info), mode)
    return files


def _runtime_path(name: str) -> str | None:
    """Where a wheel member lands in the library folder, or None to leave it out."""
    parts = PurePosixPath(name).parts
    if not parts or ".." in parts or name.startswith("/"):
        return None
    if "__pycache__" in parts or name.endswith((".pyc", ".pyo")):
        return None
    top = parts[0]
    if top.endswith(".dist-info"):
        inner = "/".join(parts[1:])
        return name if _KEPT_DIST_INFO.match(inner) else None
    if top.endswith(".data"):
        # purelib/platlib go on sys.path like the wheel root; scripts, headers, data do not.
        if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            return "/".join(parts[2:])
        return None
    return name
