"""The deploy engine: desired links -> plan -> apply under a lock -> what changed.

Ownership is the whole point. A scope (one repo, or the user's global deploy) keeps a
record of the links it made. Only links in that record, still pointing where we pointed
them, are ever replaced or removed. Everything else at a target is foreign: reported,
never touched. When the record is lost we stay conservative: a link that already points
exactly where we want it is adopted; nothing unknown is removed.

Crash safety comes from ordering. Before any link is made, the links about to be made are
written to the record as `pending` (an intent); then each link change is one rename or
unlink; then the record is written with the result and no pending entries. A link that
matches its pending entry is ours, so a run killed at any point leaves nothing the next
run would mistake for foreign, and any mix of done and undone steps plans back to the
same state.

Several commands may share one record (the user-wide folders are linked by both
`ai-skills deploy --global` and `ai-skills add --global`). Each entry then names its
`owner`; a run sees only its own entries as its own. Another owner's link is never
adopted, replaced or removed: where it already points where we want, it is left as it is
(the desire is met, the link stays theirs); anywhere else it is in the way.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from ai_skills.util.fs import (
    atomic_symlink,
    atomic_write_text,
    file_lock,
    is_temp_name,
    remove_stale_temp_files,
    writer_alive,
)

RECORD_VERSION = 1


class Action(StrEnum):
    """What the plan does with one path."""

    CREATE = "create"
    REPLACE = "replace"  # our own link, pointing at an outdated source
    REMOVE = "remove"  # our own link, no longer wanted
    KEEP = "keep"
    ADOPT = "adopt"  # unrecorded link that already points where we want: record it
    FORGET = "forget"  # recorded link that is gone or was changed by someone else
    CLEAN = "clean"  # temporary link left by a run that was killed
    REFUSE = "refuse"  # something foreign is where we want a link




class Step(NamedTuple):
    """One planned action on one path."""

    action: Action
    target: Path
    source: str | None = None  # the link text we want (or had)
    reason: str = ""


class Record(NamedTuple):
    """What a scope made: target path -> link text, links about to be made (`pending`),
    verified skill fingerprints, and (in a shared record) the owner of each entry. The
    maps are changed in place while a deploy runs.
    """

    links: dict[str, str]
    verified: dict[str, list[int]]
    pending: dict[str, str]
    owners: dict[str, str]

    def owns(self, target: Path, current: str | None) -> bool:
        """True when the link text `current` at `target` is one we made or were making."""
        key = str(target)
        return current is not None and current in (self.links.get(key), self.pending.get(key))

    def to_json(self) -> str:
        """Stable JSON text."""
        data = {
            "version": RECORD_VERSION,
            "links": self.links,
            "pending": self.pending,
            "verified": self.verified,
        }
        if self.owners:
            data["owners"] = self.owners
        return json.dumps(data, indent=1, sort_keys=True) + "\n"


def empty_record() -> Record:
    """A record of nothing."""
    return Record({}, {}, {}, {})


def read_record(path: Path) -> Record:
    """The record at `path`; an empty one if missing or unreadable (then we adopt, not delete)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return empty_record()
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
        return empty_record()
    links, pending, verified = data.get("links"), data.get("pending"), data.get("verified")
    owners = data.get("owners")
    return Record(
        links={str(k): str(v) for k, v in links.items()} if isinstance(links, dict) else {},
        verified=dict(verified) if isinstance(verified, dict) else {},
        pending={str(k): str(v) for k, v in pending.items()} if isinstance(pending, dict) else {},
        owners={str(k): str(v) for k, v in owners.items()} if isinstance(owners, dict) else {},
    )


def split_record(record: Record, owner: str, default_owner: str) -> tuple[Record, Record]:
    """`owner`'s own entries of a shared record, and the other owners' (with their owners).

    Entries without an owner belong to `default_owner` (records written before the record
    was shared).
    """
    def part(mapping: dict[str, str], ours: bool) -> dict[str, str]:
        return {k: v for k, v in mapping.items()
                if (record.owners.get(k, default_owner) == owner) == ours}

    theirs = Record(part(record.links, False), {}, part(record.pending, False), {})
    for key in theirs.links.keys() | theirs.pending.keys():
        theirs.owners[key] = record.owners.get(key, default_owner)
    return Record(part(record.links, True), record.verified, part(record.pending, True), {}), theirs


def join_record(mine: Record, theirs: Record, owner: str) -> Record:
    """The shared record again: the other owners' entries, then ours (ours win a target)."""
    joined = Record({**theirs.links, **mine.links}, mine.verified,
                    {**theirs.pending, **mine.pending}, dict(theirs.owners))
    for key in mine.links.keys() | mine.pending.keys():
        joined.owners[key] = owner
        if key not in mine.pending:
            joined.pending.pop(key, None)  # a target we took over from a stale entry
    return joined


def _read_link(path: Path) -> str | None:
    """The text of a symlink; None when there is nothing or a non-link."""
    try:
        return os.readlink(path)
    except OSError:
        return None


def plan_links(
    desired: Mapping[Path, str],
    record: Record,
    *,
    managed_dirs: tuple[Path, ...] = (),
    held_dirs: tuple[Path, ...] = (),
    theirs: Record | None = None,
) -> list[Step]:
    """Compare the wanted links with the world and the record; touch nothing.

    Recorded links inside `held_dirs` are left as they are even when unwanted: those are
    folders we cannot judge this run (say, CODEX_HOME points at a file). `theirs` holds
    the links other owners of a shared record made: never ours to change.
    """
    steps = [_plan_one(target, text, record, theirs or empty_record())
             for target, text in sorted(desired.items())]
    for key in sorted(record.links.keys() | record.pending.keys()):
        target = Path(key)
        if target not in desired and target.parent not in held_dirs:
            steps.append(_plan_unwanted(target, record))
    steps.extend(_plan_temp_leftovers(managed_dirs))
    return steps


def _plan_one(target: Path, text: str, record: Record, theirs: Record) -> Step:
    current = _read_link(target)
    recorded = record.links.get(str(target))
    other = theirs.owners.get(str(target)) if theirs.owns(target, current) else None
    if current == text:
        if other is not None and recorded != text:
            return Step(Action.KEEP, target, text, reason=f"made by `ai-skills {other}`")
        action = Action.KEEP if recorded == text else Action.ADOPT
        return Step(action, target, text)
    if current is None and not os.path.lexists(target):
        return Step(Action.CREATE, target, text)
    if record.owns(target, current):
        return Step(Action.REPLACE, target, text, reason=f"was {current}")
    if other is not None:
        reason = (f"`ai-skills {other}` made it (-> {current}); it stays until that "
                  "command unlinks it")
    elif current is None:
        kind = "folder" if target.is_dir() else "file"
        reason = f"a real {kind} is in the way; move it aside (or rename it) to use the skill"
    else:
        reason = f"a link we did not make (-> {current}) is in the way; remove it to use ours"
    return Step(Action.REFUSE, target, text, reason=reason)


def _plan_unwanted(target: Path, record: Record) -> Step:
    current = _read_link(target)
    if record.owns(target, current):
        return Step(Action.REMOVE, target, current)
    reason = "gone" if not os.path.lexists(target) else "changed by someone else; left alone"
    return Step(Action.FORGET, target, record.links.get(str(target)), reason=reason)


def _plan_temp_leftovers(dirs: tuple[Path, ...]) -> list[Step]:
    steps: list[Step] = []
    for folder in dirs:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        steps.extend(
            Step(Action.CLEAN, folder / name, reason="left by an interrupted run")
            for name in sorted(names)
            if is_temp_name(name)
            and os.path.islink(folder / name)
            and not writer_alive(name)
        )
    return steps


def changes(steps: list[Step]) -> list[Step]:
    """The steps that change links or the record (not `keep`, not `refuse`)."""
    return [step for step in steps if step.action not in (Action.KEEP, Action.REFUSE)]


def needs_apply(steps: list[Step]) -> bool:
    """True when applying would change links or the record."""
    return bool(changes(steps))


class ApplyResult(NamedTuple):
    """The steps carried out, and the ones that could not be (with why)."""

    done: list[Step]
    failed: list[Step]


def apply_steps(steps: list[Step], record: Record) -> ApplyResult:
    """Carry out `steps`, updating `record` in memory; keep going past single failures."""
    result = ApplyResult([], [])
    for step in steps:
        try:
            _apply_one(step, record)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            result.failed.append(Step(Action.REFUSE, step.target, step.source, reason=reason))
            continue
        if step.action not in (Action.KEEP, Action.REFUSE):
            result.done.append(step)
    return result


def _apply_one(step: Step, record: Record) -> None:
    key = str(step.target)
    if step.action in (Action.CREATE, Action.REPLACE):
        assert step.source is not None
        step.target.parent.mkdir(parents=True, exist_ok=True)
        atomic_symlink(step.target, step.source)
        record.links[key] = step.source
    elif step.action == Action.ADOPT:
        assert step.source is not None
        record.links[key] = step.source
    elif step.action in (Action.REMOVE, Action.CLEAN):
        with contextlib.suppress(FileNotFoundError):
            step.target.unlink()
        record.links.pop(key, None)
    elif step.action == Action.FORGET:
        record.links.pop(key, None)
        record.pending.pop(key, None)


class DeployResult(NamedTuple):
    """What a deploy did (or, for a dry run, would do) and what it refused."""

    steps: list[Step]
    done: list[Step]
    refused: list[Step]


def deploy(
    desired: Mapping[Path, str],
    state_dir: Path,
    *,
    dry_run: bool,
    managed_dirs: tuple[Path, ...] = (),
    held_dirs: tuple[Path, ...] = (),
    verified: dict[str, list[int]] | None = None,
    record: Record | None = None,
    owner: tuple[str, str] | None = None,
) -> DeployResult:
    """Make the links in `desired` exist, owned by the scope whose state is in `state_dir`.

    `record` is the scope's record if the caller has already read it (it is read again under
    the lock before anything changes). `owner` is (this owner, owner of unmarked entries)
    for a record that several commands share; see `split_record`.
    """
    record_path = state_dir / "links.json"
    full = record if record is not None else read_record(record_path)
    mine, theirs = _split(full, owner)
    steps = plan_links(desired, mine, managed_dirs=managed_dirs, held_dirs=held_dirs,
                       theirs=theirs)
    # Pending entries left by a killed run are settled by writing the record again.
    record_stale = bool(mine.pending) or (verified is not None and verified != mine.verified)
    if dry_run or not (needs_apply(steps) or record_stale):
        return DeployResult(steps, [], [s for s in steps if s.action == Action.REFUSE])
    with file_lock(state_dir / "lock"):
        # Another run may have finished while we waited: plan again from what is there now.
        remove_stale_temp_files(state_dir)
        mine, theirs = _split(read_record(record_path), owner)
        steps = plan_links(desired, mine, managed_dirs=managed_dirs, held_dirs=held_dirs,
                           theirs=theirs)
        intents = {str(s.target): s.source for s in steps
                   if s.action in (Action.CREATE, Action.REPLACE) and s.source}
        if intents:
            mine.pending.update(intents)
            _write(record_path, mine, theirs, owner)
        result = apply_steps(steps, mine)
        mine.pending.clear()
        if verified is not None:
            mine.verified.clear()
            mine.verified.update(verified)
        _write(record_path, mine, theirs, owner)
    refused = [s for s in steps if s.action == Action.REFUSE] + result.failed
    return DeployResult(steps, result.done, refused)


def _split(record: Record, owner: tuple[str, str] | None) -> tuple[Record, Record]:
    return (record, empty_record()) if owner is None else split_record(record, *owner)


def _write(path: Path, mine: Record, theirs: Record, owner: tuple[str, str] | None) -> None:
    record = mine if owner is None else join_record(mine, theirs, owner[0])
    atomic_write_text(path, record.to_json(), durable=False)
