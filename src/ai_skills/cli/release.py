"""`ai-skills release`: build worker tarballs and check their pins. Wiring only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ai_skills.cli.render import note, render
from ai_skills.errors import UsageError

app = typer.Typer(
    help="Build `worker` release tarballs under releases/ and check the SRI pins Nix uses.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def _repo_root() -> Path:
    from ai_skills.util.git import find_worktree_root

    root = find_worktree_root(Path.cwd())
    if root is None:
        raise UsageError(f"{Path.cwd()}: not inside a git repository; run this in the checkout")
    return root


def _wheel_cache() -> Path:
    from ai_skills.util.xdg import xdg_home

    return Path(xdg_home(os.environ, "XDG_CACHE_HOME")) / "ai-skills" / "release-wheels"


@app.command("worker")
def release_worker(
    version: Annotated[
        str, typer.Option("--version", help="Semver version to release, e.g. 0.1.0.")
    ],
    allow_dirty: Annotated[
        bool,
        typer.Option("--allow-dirty", help="Build even with uncommitted changes (they are "
                     "left out: the tarball is always built from HEAD)."),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Rebuild a version that is already pinned, changing its "
                     "hash. Only for a version that was never published."),
    ] = False,
    url_template: Annotated[
        str | None,
        typer.Option("--url-template", help="Download URL with {file} (and optionally "
                     "{version}); default: the one in releases/worker.json."),
    ] = None,
    system: Annotated[
        str, typer.Option("--system", help="Nix system to build for.")
    ] = "x86_64-linux",
    as_json: JsonOption = False,
) -> None:
    """Build releases/worker_VERSION_<os>_<arch>.tar.gz from HEAD and pin it.

    The tarball is reproducible (same commit, same bytes) and its SRI hash goes into
    releases/worker.json, which the Nix package reads. Running it again for a released
    version changes nothing; a different build of a released version is refused.
    """
    from ai_skills.release.build import BuildOptions
    from ai_skills.release.build import release_worker as build

    options = BuildOptions(version=version, system=system, url_template=url_template,
                           wheel_cache=_wheel_cache(), allow_dirty=allow_dirty,
                           replace=replace)  # fmt: skip
    result = build(_repo_root(), options)
    for warning in result.warnings:
        note(f"ai-skills: warning: {warning}")
    rel = os.path.relpath(result.path)
    if result.status == "unchanged":
        lines = [f"{rel}: already released with these bytes ({result.sha256}); nothing to do"]
        notes = []
    else:
        lines = [f"{rel}: {result.status} {result.sha256}"]
        notes = ["Next: `ai-skills release verify`, then commit releases/."]
    render(result, as_json=as_json, lines=lambda: lines, notes=lambda: notes)


@app.command("verify")
def release_verify(
    releases: Annotated[
        Path | None, typer.Option("--dir", help="The releases folder; default: releases/ of "
                                  "this checkout.")
    ] = None,
    no_nix: Annotated[
        bool, typer.Option("--no-nix", help="Only the Python check, even where Nix exists.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check every file pinned in releases/worker.json against its SRI hash.

    Python's hashlib always; where nix-instantiate is installed also builtins.hashFile and a
    builtins.fetchurl into a fresh store. Exit 1 on any mismatch or missing file.
    """
    from ai_skills.release.verify import verify_releases

    folder = releases if releases is not None else _repo_root() / "releases"
    report = verify_releases(folder, use_nix=not no_nix)
    files = len({c.file for c in report.checks})
    how = "Python and Nix" if report.nix else "Python (Nix not installed)"
    status = "ok" if report.ok else "FAILED"
    render(
        report,
        as_json=as_json,
        lines=lambda: [f"{c.file}: {c.method}: MISMATCH: {c.detail}"
                       for c in report.checks if not c.ok],
        notes=lambda: [f"ai-skills: release verify {status}: {files} file(s) checked with {how}"],
    )
    for warning in report.warnings:
        note(f"ai-skills: warning: {warning}")
    raise typer.Exit(0 if report.ok else 1)
