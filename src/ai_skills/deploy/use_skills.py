"""Per-repo sync: link the skills named in `REPO/.skills` into each agent's skills folder.

This runs on every direnv reload, so the no-op path must stay cheap: names are resolved by
stat calls, a SKILL.md is only parsed when its (mtime, size, inode) changed since it was
last found valid, and nothing is written when nothing changed. Heavy imports stay out:
the data types on this path (here and in deploy, catalog, manifest, skill) are NamedTuples
and slotted classes rather than dataclasses, because importing `dataclasses` (and with it
`inspect`) costs about 8 ms, close to a whole Python start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ai_skills.deploy import engine, fastpath
from ai_skills.deploy.agents import (
    AgentError,
    all_repo_dirs,
    canonical_names,
    default_agents,
    parse_agent_list,
    repo_skills_dir,
    table,
)
from ai_skills.deploy.manifest import Manifest, read_manifest_file
from ai_skills.skills import verified_cache
from ai_skills.skills.catalog import CatalogDir, find_skill, search_path, unknown_skill_message
from ai_skills.util.fs import (
    atomic_write_bytes,
    atomic_write_text,
    file_lock,
    remove_stale_temp_files,
    shown_path,
)
from ai_skills.util.git import common_dir_of, git_dir_of

MANIFEST = ".skills"
AGENTS_VARIABLE = "AI_SKILLS_AGENTS"
EXCLUDE_BEGIN = "# >>> ai-skills: links made by use-skills (managed; do not edit) >>>"
EXCLUDE_END = "# <<< ai-skills <<<"


class SyncReport:
    """What a sync did or would do; `errors` and `warnings` are ready-to-print lines."""

    __slots__ = ("repo", "steps", "done", "errors", "warnings")

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.steps: list[engine.Step] = []
        self.done: list[engine.Step] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []

    @property
    def would_change(self) -> bool:
        """True when the links (or our record of them) are not what the manifest asks for."""
        return engine.needs_apply(self.steps)


def state_dir_for(repo: Path, env: Mapping[str, str]) -> Path:
    """Where this repo's record and no-op stamp live (see `fastpath.state_dir`)."""
    return Path(fastpath.state_dir(str(repo), dict(env)))


def read_manifest(repo: Path) -> Manifest:
    """The repo's `.skills`; a missing file is an empty manifest (unlinks what we made)."""
    try:
        return read_manifest_file(repo / MANIFEST)
    except FileNotFoundError:
        return Manifest([], [])


class AgentChoice(NamedTuple):
    """The agents a sync links for; `hold_others`: leave other agents' links as they are."""

    names: list[str]
    hold_others: bool


def choose_agents(
    manifest: Manifest, env: Mapping[str, str], agents: Sequence[str] | None, report: SyncReport
) -> AgentChoice:
    """The agents to link for: `--agents`, else AI_SKILLS_AGENTS, else `.skills`' `agents:`
    line, else the defaults.

    `--agents` is a one-off, so other agents keep their links; the other three say what the
    repo wants, so links for agents no longer chosen go. A bad `agents:` line is reported
    and its good names used, and nothing else is unlinked because of a typo.
    """
    if agents is not None:
        return AgentChoice(canonical_names(agents), hold_others=True)
    if env.get(AGENTS_VARIABLE, "").strip():
        try:
            return AgentChoice(parse_agent_list(env[AGENTS_VARIABLE]), hold_others=False)
        except AgentError as error:
            raise AgentError(f"{AGENTS_VARIABLE}: {error}") from None
    line = manifest.agents
    if line is None:
        return AgentChoice(default_agents(env), hold_others=False)
    found = [table().find(name) for name in line.names]
    known = [agent.name for agent in found if agent is not None]
    if len(known) < len(found):
        try:
            canonical_names(line.names)
        except AgentError as error:
            report.errors.append(f"{MANIFEST}:{line.line}: {error}")
    return AgentChoice(list(dict.fromkeys(known)), hold_others=len(known) < len(found))


def _agent_dirs(
    repo: Path,
    env: Mapping[str, str],
    choice: AgentChoice,
    record: engine.Record,
    report: SyncReport,
) -> tuple[list[Path], list[Path]]:
    """Usable per-repo skill folders (each once), and folders we must leave alone this run."""
    usable: dict[Path, None] = {}
    held: dict[Path, None] = {}
    hold_others = choice.hold_others
    for agent in choice.names:
        try:
            folder = repo_skills_dir(agent, repo, env)
        except AgentError as error:
            report.errors.append(f"{agent}: {error}")
            hold_others = True  # where its links live now is unknown: unlink nothing
            continue
        if folder is None:
            report.errors.append(f"{agent}: has no per-repo skills folder")
            continue
        if folder in usable or folder in held:
            continue  # another chosen agent reads the same folder: one link serves both
        blocker = _file_in_the_way(folder)
        if blocker is not None:
            report.errors.append(
                f"{agent}: {blocker} is a file, not a folder; cannot link skills into {folder}"
            )
            held[folder] = None
            continue
        usable[folder] = None
    if hold_others:
        # Every folder holding our links, or some agent's, stays as it is, except the ones a
        # chosen agent reads: a folder shared with a chosen agent is managed, one link per skill.
        recorded = (Path(target).parent for target in record.links | record.pending)
        held.update((f, None) for f in (*all_repo_dirs(repo, env), *recorded) if f not in usable)
    return list(usable), list(held)


def _file_in_the_way(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _resolve_skills(
    manifest: Manifest,
    dirs: Sequence[CatalogDir],
    verified: dict[str, list[int]],
    report: SyncReport,
) -> tuple[dict[str, Path], dict[str, list[int]]]:
    """Name -> skill folder for every usable manifest entry, and the fingerprints now valid."""
    skills: dict[str, Path] = {}
    still_valid: dict[str, list[int]] = {}
    for entry in manifest.entries:
        found = find_skill(entry.name, dirs)
        if found is None:
            message = unknown_skill_message(entry.name, dirs)
            report.errors.append(f"{MANIFEST}:{entry.line}: {message}")
            continue
        key = str(found.path)
        # Empty when SKILL.md vanished meanwhile: never equal to a recorded key, so re-checked.
        fingerprint = fastpath.stat_key(str(found.path / "SKILL.md")) or []
        if verified.get(key) != fingerprint and not _validate(entry.name, found.path, report):
            continue
        still_valid[key] = fingerprint
        skills[entry.name] = found.path
    return skills, still_valid


def _validate(name: str, folder: Path, report: SyncReport) -> bool:
    from ai_skills.skills.validation import validate_skill

    result = validate_skill(folder)
    for problem in result.problems:
        line = f"{problem.location()}: {problem.message}"
        if problem.severity == "error":
            report.errors.append(f"skill '{name}' not linked: {line}")
        else:
            report.warnings.append(line)
    return result.ok


def link_text(target: Path, source: Path, repo: Path) -> str:
    """What the link holds: relative inside the repo (survives moving it), else absolute."""
    if source.is_relative_to(repo) and target.is_relative_to(repo):
        return os.path.relpath(source, target.parent)
    return str(source)


def sync_repo(
    repo: Path,
    env: Mapping[str, str],
    *,
    agents: Sequence[str] | None = None,
    dry_run: bool = False,
) -> SyncReport:
    """Make the repo's agent skill folders hold exactly the skills its `.skills` names."""
    report = SyncReport(repo=repo)
    manifest = read_manifest(repo)
    for problem in manifest.problems:
        line = f"{MANIFEST}:{problem.line}: {problem.message}"
        (report.errors if problem.severity == "error" else report.warnings).append(line)
    state_dir = state_dir_for(repo, env)
    record = engine.read_record(state_dir / "links.json")
    choice = choose_agents(manifest, env, agents, report)
    folders, held = _agent_dirs(repo, env, choice, record, report)
    dirs = search_path(env, repo=repo)
    user_cache = verified_cache.cache_path(env)
    known = {**verified_cache.load_verified(user_cache), **record.verified}
    skills, verified = _resolve_skills(manifest, dirs, known, report)
    newly_valid = {k: v for k, v in verified.items() if known.get(k) != v}
    if newly_valid and not dry_run:
        verified_cache.remember_verified(user_cache, newly_valid)
    desired = {
        folder / name: link_text(folder / name, source, repo)
        for folder in folders
        for name, source in skills.items()
    }
    result = engine.deploy(
        desired,
        state_dir,
        dry_run=dry_run,
        managed_dirs=tuple(folders),
        held_dirs=tuple(held),
        verified=verified,
        record=record,
    )
    report.steps, report.done = result.steps, result.done
    for step in result.refused:
        report.errors.append(f"{shown_path(step.target, repo)}: {step.reason}")
    if not dry_run:
        owned = [t for t in desired if t not in {s.target for s in result.refused}]
        exclude = _update_git_exclude(repo, owned)
        if not report.errors:
            _write_stamp(state_dir, env, agents, desired, [repo / MANIFEST, *folders], exclude,
                         skills, dirs)
    return report


def _write_stamp(
    state_dir: Path,
    env: Mapping[str, str],
    agents: Sequence[str] | None,
    desired: Mapping[Path, str],
    watched: list[Path],
    exclude: Path | None,
    skills: Mapping[str, Path],
    dirs: Sequence[CatalogDir],
) -> None:
    """Record what this clean sync depended on, for `fastpath.stamp_holds` to re-check."""
    stats = [*watched, state_dir / "links.json", *(p / "SKILL.md" for p in skills.values())]
    if exclude is not None:
        stats.append(exclude)
    absent = [
        str(d.path / name / "SKILL.md")
        for name, source in skills.items()
        for d in dirs[: [c.path for c in dirs].index(source.parent)]
    ]
    stamp = {
        "at": str(state_dir),
        "options": ",".join(agents) if agents is not None else "default",
        "env": fastpath.env_key(dict(env)),
        "stats": {str(p): fastpath.stat_key(str(p)) for p in stats},
        "absent": absent,
        "links": {str(target): text for target, text in desired.items()},
    }
    atomic_write_bytes(state_dir / fastpath.STAMP_FILE, fastpath.stamp_bytes(stamp), durable=False)


def _update_git_exclude(repo: Path, links: list[Path]) -> Path | None:
    """List our links in `.git/info/exclude` so store paths never get committed.

    Only our marked block is rewritten; the user's own lines stay byte-for-byte. Every
    worktree of a repository shares that one file (git reads `info/exclude` from the common
    dir), so a linked worktree (`worker start` syncs one) keeps a block of its own: syncing
    it must not drop the main checkout's lines, nor the other way round.
    Returns the exclude file (None outside git).
    """
    git_dir = git_dir_of(repo) if os.path.lexists(repo / ".git") else None
    if git_dir is None:
        return None
    common = common_dir_of(git_dir)
    exclude = common / "info" / "exclude"
    markers = _block_markers(git_dir, common)
    entries = sorted("/" + p.relative_to(repo).as_posix() for p in links if p.is_relative_to(repo))
    try:
        old = exclude.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = ""
    new = _with_block(old, entries, markers)
    if new != old:
        with file_lock(exclude.with_name("exclude.ai-skills.lock")):
            remove_stale_temp_files(exclude.parent)
            current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
            atomic_write_text(exclude, _with_block(current, entries, markers))
    return exclude


def _block_markers(git_dir: Path, common: Path) -> tuple[str, str]:
    if os.path.realpath(git_dir) == os.path.realpath(common):
        return EXCLUDE_BEGIN, EXCLUDE_END
    # `.git/worktrees/<name>`: the name git gave this worktree, unique in the repository.
    tag = f" [worktree {git_dir.name}]"
    return EXCLUDE_BEGIN + tag, EXCLUDE_END + tag


def _with_block(
    text: str, entries: list[str], markers: tuple[str, str] = (EXCLUDE_BEGIN, EXCLUDE_END)
) -> str:
    begin, finish = markers
    lines = text.splitlines(keepends=True)
    if begin + "\n" in lines and finish + "\n" in lines:
        start = lines.index(begin + "\n")
        end = lines.index(finish + "\n", start)
        before, after = lines[:start], lines[end + 1 :]
    else:
        before, after = lines, []
        if before and not before[-1].endswith("\n"):
            before[-1] += "\n"
    if not entries:
        return "".join(before + after)
    block = [begin + "\n", *(e + "\n" for e in entries), finish + "\n"]
    return "".join(before + block + after)
