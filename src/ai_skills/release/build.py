"""`ai-skills release worker`: build the tarball from HEAD and pin it in the sidecar."""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ai_skills.release import layout
from ai_skills.release.errors import ReleaseError, ReleaseUsageError
from ai_skills.release.pins import (
    SIDECAR_NAME,
    ReleasePin,
    Sidecar,
    SystemPin,
    check_version,
    load_sidecar,
    render_url,
    save_sidecar,
    sri_sha256,
)
from ai_skills.release.tarball import reproducible_tar_gz
from ai_skills.release.wheels import Target, fetch_wheels, parse_requirements, wheel_files
from ai_skills.util.fs import atomic_write_bytes, file_lock
from ai_skills.util.git import git_bytes, git_out, run_git

RELEASES_DIR = "releases"
REQUIREMENTS = "releases/worker-requirements.txt"
PACKAGE_DIR = "src/ai_skills"
# Everything a tarball is made of. Its time stamp and the commit it names are those of the
# last commit that touched these, so committing the release itself changes nothing.
INPUTS = [PACKAGE_DIR, "LICENSE", REQUIREMENTS]

Files = dict[str, tuple[bytes, int]]


@dataclass(frozen=True)
class BuildOptions:
    """What `release worker` was asked to do."""

    version: str
    system: str = "x86_64-linux"
    url_template: str | None = None
    wheel_cache: Path = Path(".")
    allow_dirty: bool = False
    replace: bool = False


@dataclass(frozen=True)
class ReleaseResult:
    """What a release run did: `added`, `unchanged`, `restored` or `replaced`."""

    version: str
    system: str
    path: Path
    sha256: str
    status: str
    commit: str
    previous_sha256: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "version": self.version, "system": self.system, "file": str(self.path),
            "sha256": self.sha256, "status": self.status, "commit": self.commit,
            "previous_sha256": self.previous_sha256, "warnings": self.warnings,
        }  # fmt: skip


def release_worker(repo: Path, options: BuildOptions) -> ReleaseResult:
    """Build worker `options.version` from HEAD of `repo` and record its pin."""
    version = check_version(options.version)
    platform = _platform(options.system)
    warnings = _check_clean(repo, allow_dirty=options.allow_dirty)
    commit, commit_time = input_commit(repo)
    data = _build(repo, version, platform, commit=commit, commit_time=commit_time,
                  cache=options.wheel_cache)  # fmt: skip
    releases = repo / RELEASES_DIR
    with file_lock(_common_dir(repo) / "ai-skills-release.lock"):
        # Read the sidecar only under the lock: another run may have just written it.
        sidecar = load_sidecar(releases / SIDECAR_NAME)
        template = _url_template(repo, options.url_template, sidecar)
        name = layout.tarball_name(version, platform)
        url = render_url(template, file=name, version=version)
        pin = SystemPin(file=name, sha256=sri_sha256(data), url=url)
        status, previous = _decide(releases, sidecar, version, platform, pin, options.replace)
        if status != "unchanged":
            atomic_write_bytes(releases / name, data)
        if status != "unchanged" or sidecar.url_template != template:
            old = sidecar.releases.get(version)
            built_from = old.commit if status == "unchanged" and old else commit
            systems = {**_systems(sidecar, version), platform.nix_system: pin}
            entry = ReleasePin(commit=built_from, python=[layout.PYTHON], systems=systems)
            updated = sidecar.with_release(version, entry, url_template=template)
            save_sidecar(releases / SIDECAR_NAME, updated)
    if status == "replaced":
        warnings.append(
            f"{releases / name}: REPLACED version {version}: {previous} -> {pin.sha256}; "
            "anyone who fetched the old file now gets a hash mismatch"
        )
    return ReleaseResult(version, platform.nix_system, releases / name, pin.sha256, status,
                         commit, previous, warnings)  # fmt: skip


def _common_dir(repo: Path) -> Path:
    found = Path(git_out(["rev-parse", "--git-common-dir"], cwd=repo))
    return found if found.is_absolute() else repo / found


def build_tarball(repo: Path, version: str, platform: layout.Platform, *, cache: Path) -> bytes:
    """The tarball bytes for HEAD of `repo`: a function of the commit and the pinned wheels."""
    commit, commit_time = input_commit(repo)
    return _build(repo, version, platform, commit=commit, commit_time=commit_time, cache=cache)


def _build(repo: Path, version: str, platform: layout.Platform, *, commit: str,
           commit_time: int, cache: Path) -> bytes:
    root = layout.top_dir(version)
    tracked = _tracked_files(repo, INPUTS)
    if "LICENSE" not in tracked:
        raise ReleaseError(f"{repo / 'LICENSE'}: not committed; the tarball must carry it")
    if REQUIREMENTS not in tracked:
        raise ReleaseError(f"{repo / REQUIREMENTS}: not committed; it pins the bundled wheels")
    pins = parse_requirements(tracked[REQUIREMENTS][0].decode(), source=str(repo / REQUIREMENTS))
    target = Target(python=layout.PYTHON, platform=platform.pip_platform)
    files: Files = {}
    for wheel in fetch_wheels(pins, target, cache=cache):
        _merge(files, {f"{root}/lib/{rel}": item for rel, item in wheel_files(wheel).items()},
               source=wheel.name)  # fmt: skip
    package = {
        f"{root}/lib/{rel.removeprefix('src/')}": item
        for rel, item in tracked.items()
        if rel.startswith(PACKAGE_DIR + "/") and _is_runtime_source(rel)
    }
    _merge(files, package, source=f"{PACKAGE_DIR} at {commit[:12]}")
    values = {"version": version, "file_tag": platform.file_tag, "python": layout.PYTHON,
              "commit": commit}  # fmt: skip
    for where, name, mode in (("bin/worker", "worker.sh", 0o755),
                              ("libexec/python", "python.sh", 0o755),
                              ("lib/worker_boot.py", "worker_boot.py", 0o644),
                              ("README.md", "README.md", 0o644)):  # fmt: skip
        files[f"{root}/{where}"] = (layout.release_file(name, **values).encode(), mode)
    files[f"{root}/LICENSE"] = (tracked["LICENSE"][0], 0o644)
    return reproducible_tar_gz(files, mtime=commit_time)


def input_commit(repo: Path) -> tuple[str, int]:
    """The last commit up to HEAD that changed a tarball input, and its commit time."""
    out = git_out(["log", "-1", "--format=%H %ct", "HEAD", "--", *INPUTS], cwd=repo)
    if not out:
        raise ReleaseError(f"{repo}: no commit holds {PACKAGE_DIR}; nothing to release")
    sha, when = out.split()
    return sha, int(when)


def _tracked_files(repo: Path, paths: list[str]) -> Files:
    """Committed files under `paths` at HEAD (not the working tree): {path: (bytes, mode)}."""
    # `git archive` fails on a path HEAD lacks; one ls-tree names those that exist.
    existing = git_out(["ls-tree", "--name-only", "HEAD", "--", *paths], cwd=repo).splitlines()
    if not existing:
        return {}
    archive = git_bytes(["archive", "--format=tar", "HEAD", "--", *existing], cwd=repo)
    files: Files = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                files[member.name] = (handle.read(), member.mode)
    return files


def _is_runtime_source(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return "__pycache__" not in parts and "tests" not in parts and not rel.endswith(".pyc")


def _merge(files: Files, new: Files, *, source: str) -> None:
    clash = sorted(set(files) & set(new))
    if clash:
        raise ReleaseError(f"{source}: would overwrite {clash[0]} from another package")
    files.update(new)


def _platform(system: str) -> layout.Platform:
    try:
        return layout.PLATFORMS[system]
    except KeyError:
        known = ", ".join(sorted(layout.PLATFORMS))
        message = f"no worker tarball for system {system!r}; known: {known}"
        raise ReleaseUsageError(message) from None


def _check_clean(repo: Path, *, allow_dirty: bool) -> list[str]:
    status = run_git(["status", "--porcelain"], cwd=repo).stdout
    if not status.strip():
        return []
    first = status.splitlines()[0][3:]
    if not allow_dirty:
        raise ReleaseError(
            f"{repo / first}: the working tree has uncommitted changes; commit or stash them "
            "(a release is built from HEAD), or pass --allow-dirty"
        )
    return [f"{repo}: uncommitted changes (e.g. {first}) are NOT in the tarball; it is built "
            "from HEAD"]  # fmt: skip


def _url_template(repo: Path, given: str | None, sidecar: Sidecar) -> str:
    if given:
        return given
    if sidecar.url_template:
        return sidecar.url_template
    remote = run_git(["remote", "get-url", "origin"], cwd=repo, check=False).stdout.strip()
    match = re.match(r"^(?:https://|git@)(github\.com|codeberg\.org)[:/](.+?)(?:\.git)?/?$", remote)
    if match is None:
        raise ReleaseUsageError(
            "no URL template: pass --url-template, e.g. "
            "https://github.com/OWNER/REPO/raw/main/releases/{file}"
        )
    return f"https://{match[1]}/{match[2]}/raw/main/releases/{{file}}"


def _systems(sidecar: Sidecar, version: str) -> dict[str, SystemPin]:
    existing = sidecar.releases.get(version)
    return dict(existing.systems) if existing else {}


def _decide(
    releases: Path,
    sidecar: Sidecar,
    version: str,
    platform: layout.Platform,
    pin: SystemPin,
    replace: bool,
) -> tuple[str, str | None]:
    """`added`, `unchanged`, `restored` or `replaced` (+ old hash); never a silent change."""
    old = _systems(sidecar, version).get(platform.nix_system)
    if old is None:
        return "added", None
    path = releases / pin.file
    if old.sha256 == pin.sha256 and old.file == pin.file:
        on_disk = sri_sha256(path.read_bytes()) if path.is_file() else None
        return ("unchanged" if on_disk == pin.sha256 else "restored"), None
    if not replace:
        raise ReleaseError(
            f"{releases / old.file}: version {version} is already released as {old.sha256}, "
            f"and HEAD builds {pin.sha256}. A released version never changes: release a new "
            f"version, or, only if {version} was never published, rebuild it with --replace"
        )
    return "replaced", old.sha256
