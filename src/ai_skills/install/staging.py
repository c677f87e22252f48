"""Stage, verify and activate one installed skill folder; scopes and their layout.

Layout of a scope's skills folder (`REPO/.ai-skills/skills` or
`$XDG_DATA_HOME/ai-skills/skills`):

    NAME -> .versions/<hash prefix>/NAME     the link catalog lookups and agents follow
    .versions/<hash prefix>/NAME/...          the files, named by their content hash
    .versions/<hash prefix>/NAME.files.json   what each file was when installed (for `check`)
    .versions/.stage<id>.ai-skills-tmp-<pid>  a staging folder while an install runs

An install writes a complete new version beside the old one, verifies it (safety checks,
SKILL.md validation, content hash), then switches the `NAME` link in one rename. A run
killed at any point leaves the old link (and so the old files) in place. Every change
happens inside `locked(scope)`, which first removes what a killed run left (staging
folders, versions no link uses, temporary files) and does so again at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from ai_skills.errors import AiSkillsError
from ai_skills.install import materialize
from ai_skills.install.contenthash import HASH_PREFIX, FileState, folder_states, hash_folder
from ai_skills.install.discover import name_error, skill_md_error
from ai_skills.install.scope import VERSIONS, Scope
from ai_skills.install.sources import SourceCache
from ai_skills.skills.validation import SKILL_FILE
from ai_skills.util.fs import (
    TEMP_MARKER,
    atomic_symlink,
    atomic_write_text,
    file_lock,
    is_temp_name,
    writer_alive,
)


class InstallError(AiSkillsError):
    """An install cannot go ahead; nothing was changed."""


@contextlib.contextmanager
def locked(scope: Scope) -> Iterator[None]:
    """Hold the scope's lock for a change; clear what killed runs left, before and after.

    Every command that changes a scope (its `.skills`, lock file, installed folders or the
    links made for it) does so inside this block, so concurrent runs take turns.
    """
    prepare_scope(scope)
    with file_lock(scope.mutation_lock, timeout=600):
        collect_garbage(scope)
        try:
            yield
        finally:
            collect_garbage(scope)


class Staged(NamedTuple):
    """A verified new version waiting to be activated."""

    name: str
    stage: Path  # the staging folder; the skill is `stage / name`
    digest: str

    @property
    def folder(self) -> Path:
        """The staged skill folder."""
        return self.stage / self.name


def check_name(name: str, *, where: str) -> None:
    """Refuse a name that is not a valid skill name (it becomes a folder and link name)."""
    reason = name_error(name)
    if reason is not None:
        raise materialize.UnsafeSkillError(f"{where}: {reason}; refused")


class Checked(NamedTuple):
    """A skill's files, read from git and found safe and valid; nothing written yet."""

    name: str
    files: list[materialize.PlannedFile]
    blobs: dict[str, bytes]
    where: str


def check_skill(cache: SourceCache, *, name: str, url: str, commit: str, path: str) -> Checked:
    """Read the skill at `url`@`commit`:`path` and run every check that needs no disk."""
    where = f"{url} @ {commit[:12]}: "
    inside = f"{where}{path + '/' if path else ''}"
    check_name(name, where=f"{where}{path or '.'}")
    files = materialize.plan_files(cache.tree(url, commit), path, where=where)
    if not any(f.rel == SKILL_FILE for f in files):
        raise InstallError(f"{where}{path or '.'}: no {SKILL_FILE} at this commit")
    sizes = cache.blob_sizes(url, commit, [f.oid for f in files])
    materialize.check_sizes(files, sizes, where=inside)
    blobs = cache.read_blobs(url, list(dict.fromkeys(f.oid for f in files)))
    materialize.check_links(files, blobs, where=inside)
    skill_md = next(f for f in files if f.rel == SKILL_FILE)
    error = skill_md_error(name, blobs[skill_md.oid])
    if error is not None:
        shown, line, message = error
        raise InstallError(f"{where}{path or '.'}: {shown}{f':{line}' if line else ''}: "
                           f"{message}; not installed")
    return Checked(name, files, blobs, where)


def stage_skill(scope: Scope, checked: Checked) -> Staged:
    """Write a checked skill into a staging folder beside the versions, and hash it."""
    scope.versions.mkdir(parents=True, exist_ok=True)
    stage = scope.versions / f".stage{_random_tag()}{TEMP_MARKER}{os.getpid()}"
    stage.mkdir()
    try:
        folder = stage / checked.name
        materialize.write_files(folder, checked.files, checked.blobs)
        materialize.check_links_on_disk(folder, checked.files, where=checked.where)
        digest = hash_folder(folder)
        _write_file_list(stage / f"{checked.name}{FILE_LIST}", folder_states(folder))
    except BaseException:
        remove_tree(stage)
        raise
    pause_point("staged")
    return Staged(checked.name, stage, digest)


FILE_LIST = ".files.json"


def _write_file_list(path: Path, states: Mapping[str, FileState]) -> None:
    files = {rel: list(state) for rel, state in states.items()}
    atomic_write_text(path, json.dumps({"version": 1, "files": files}, sort_keys=True) + "\n",
                      durable=False)


def installed_files(scope: Scope, name: str) -> dict[str, FileState] | None:
    """What each file of the installed version was when installed; None if not recorded."""
    try:
        version = os.readlink(scope.skills_dir / name).rsplit("/", 1)[0]
        data = json.loads((scope.skills_dir / version / f"{name}{FILE_LIST}").read_text("utf-8"))
        return {str(rel): FileState(*map(str, state)) for rel, state in data["files"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # installed before the list was kept, or damaged: not knowable


def fetch_and_stage(
    scope: Scope, cache: SourceCache, *, name: str, url: str, commit: str, path: str
) -> Staged:
    """`check_skill` then `stage_skill`."""
    return stage_skill(scope, check_skill(cache, name=name, url=url, commit=commit, path=path))


def discard(staged: Staged) -> None:
    """Drop a staged version that will not be activated."""
    remove_tree(staged.stage)


def version_dir(digest: str) -> str:
    """The folder holding the version with this content hash (relative to the scope)."""
    return f"{VERSIONS}/{digest.removeprefix(HASH_PREFIX)[:20]}"


def owns(scope: Scope, name: str) -> bool:
    """True when `skills_dir/NAME` is a link this tool made (into `.versions`)."""
    try:
        return os.readlink(scope.skills_dir / name).startswith(VERSIONS + "/")
    except OSError:
        return False


def installed_hash(scope: Scope, name: str) -> str | None:
    """Content hash of the installed version, None when it is missing or not ours."""
    if not owns(scope, name) or not (scope.skills_dir / name).is_dir():
        return None
    return hash_folder((scope.skills_dir / name).resolve())


def refuse_foreign(scope: Scope, name: str) -> None:
    """Raise when `skills_dir/NAME` exists but ai-skills did not make it."""
    target = scope.skills_dir / name
    if os.path.lexists(target) and not owns(scope, name):
        raise InstallError(
            f"{target}: a folder or link ai-skills did not install is in the way; move it "
            "aside (or remove it) and run again"
        )


def activate(scope: Scope, staged: Staged) -> None:
    """Move the staged version into place and switch `NAME` to it in one rename."""
    target = scope.skills_dir / staged.name
    try:
        refuse_foreign(scope, staged.name)
    except InstallError:
        discard(staged)
        raise
    version = version_dir(staged.digest)
    folder = scope.skills_dir / version
    if not folder.exists():
        os.rename(staged.stage, folder)
    elif (folder / staged.name).is_dir() and hash_folder(folder / staged.name) == staged.digest:
        listing = f"{staged.name}{FILE_LIST}"
        if not (folder / listing).exists():  # a version installed before the list was kept
            os.rename(staged.stage / listing, folder / listing)
        discard(staged)
    else:
        _replace_dir(folder, staged.stage)
    pause_point("before-switch")
    atomic_symlink(target, f"{version}/{staged.name}")


def _replace_dir(old: Path, new: Path) -> None:
    aside = old.with_name(f".old{_random_tag()}{TEMP_MARKER}{os.getpid()}")
    os.rename(old, aside)
    os.rename(new, old)
    remove_tree(aside)


def deactivate(scope: Scope, name: str) -> bool:
    """Remove our `NAME` link (its version folder goes with the next clean-up)."""
    if not owns(scope, name):
        return False
    (scope.skills_dir / name).unlink()
    return True


def garbage(scope: Scope) -> list[Path]:
    """What killed or finished runs left: versions no link uses, staging folders and
    temporary files whose writer is gone (the scope's lock file and `.skills` included)."""
    try:
        versions = os.listdir(scope.versions)
        names = os.listdir(scope.skills_dir)
    except OSError:
        versions, names = [], []
    used = {os.readlink(scope.skills_dir / n).split("/")[1] for n in names if owns(scope, n)}
    found = [scope.versions / entry for entry in versions
             if (not writer_alive(entry) if TEMP_MARKER in entry else entry not in used)]
    found += [scope.skills_dir / n for n in names if is_temp_name(n) and not writer_alive(n)]
    from ai_skills.deploy.use_skills import MANIFEST

    for written in (scope.lock_path, *([scope.repo / MANIFEST] if scope.repo else [])):
        prefix = f".{written.name}{TEMP_MARKER}"
        with contextlib.suppress(OSError):
            found += [written.parent / n for n in os.listdir(written.parent)
                      if n.startswith(prefix) and not writer_alive(n)]
    return found


def collect_garbage(scope: Scope) -> None:
    """Remove everything `garbage` finds (only under the scope's lock)."""
    for path in garbage(scope):
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def prepare_scope(scope: Scope) -> None:
    """Create the skills folder; a repo scope's `.ai-skills/` ignores itself in git."""
    scope.skills_dir.mkdir(parents=True, exist_ok=True)
    if scope.kind == "repo":
        ignore = scope.skills_dir.parent / ".gitignore"
        try:
            written = ignore.stat().st_size > 0
        except FileNotFoundError:
            written = False
        if not written:
            # Installed files are reproduced from the lock file; only the lock is committed.
            # Not synced to disk (a few ms of every first add): an empty file, all a crash
            # can leave, is written again by the next run.
            atomic_write_text(ignore, "# made by ai-skills: installed skills come from "
                              "ai-skills.lock.json\n*\n", durable=False)


def pause_point(point: str) -> None:
    """Test hook: stop here when AI_SKILLS_TEST_PAUSE names this point (crash tests)."""
    if os.environ.get("AI_SKILLS_TEST_PAUSE") != point:
        return
    marker = os.environ.get("AI_SKILLS_TEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(120)


def remove_tree(path: Path) -> None:
    """Delete a folder this tool made, quietly (imports `shutil` only when there is one)."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _random_tag() -> str:
    """Twelve random hex digits for a temporary name (`uuid` would cost `add` its import)."""
    return os.urandom(6).hex()
