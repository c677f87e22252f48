"""The cache of fetched sources, and reading commits and files out of it.

The cache holds one bare repository per source URL under
`$XDG_CACHE_HOME/ai-skills/sources/<sha256 of the normalised URL>.git`, each guarded by
its own file lock so concurrent runs share it safely. Fetches are shallow and partial
(`--depth 1 --filter=blob:none`) where the server allows; git itself falls back to a
full pack when a server ignores the filter, and we retry without depth/filter when a
server refuses. File contents are read straight from git objects; nothing is ever checked
out, so no hook, filter (LFS) or submodule of the source can run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

from ai_skills.errors import CommandError
from ai_skills.install.git_values import (
    FULL_SHA,
    shown,
    url_problem,
)
from ai_skills.install.object_reader import ObjectReader
from ai_skills.install.source_git import (
    SAFE_GIT_ENV,
    SourceError,
    git_command,
    run_source_git,
)
from ai_skills.install.source_spec import normalise_url
from ai_skills.util.fs import atomic_write_bytes, file_lock
from ai_skills.util.git import run_git, run_git_bytes
from ai_skills.util.xdg import xdg_home

Progress = Callable[[str], AbstractContextManager[None]]




class GitEntry(NamedTuple):
    """One entry of a commit's tree: git mode, object type, object id, path."""

    mode: str
    kind: str
    oid: str
    path: str


def cache_key(url: str) -> str:
    """sha256 hex of the normalised URL."""
    return hashlib.sha256(normalise_url(url).encode("utf-8")).hexdigest()


def cache_root(env: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/ai-skills/sources`, default `~/.cache/ai-skills/sources`."""
    return Path(xdg_home(env, "XDG_CACHE_HOME")) / "ai-skills" / "sources"


def _no_progress(_message: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


class SourceCache:
    """Bare repositories of fetched sources, one per URL, each behind its own lock."""

    def __init__(self, root: Path, *, progress: Progress | None = None) -> None:
        self.root = root
        self.progress = progress or _no_progress
        # Per run: a commit's tree never changes, an object's size neither, and blobs once
        # here stay here (so what is missing only shrinks, by what we fetched).
        self._trees: dict[tuple[str, str], list[GitEntry]] = {}
        self._sizes: dict[str, int] = {}
        self._missing: dict[tuple[str, str], set[str]] = {}
        self._new: set[Path] = set()  # repositories this run created
        self._readers: dict[Path, ObjectReader] = {}

    def __enter__(self) -> SourceCache:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the git processes reading files for this run."""
        while self._readers:
            self._readers.popitem()[1].close()

    def repo_dir(self, url: str) -> Path:
        """The bare repository caching `url`."""
        return self.root / f"{cache_key(url)}.git"

    @contextlib.contextmanager
    def locked(self, url: str) -> Iterator[Path]:
        """Hold the per-URL lock; yield the (created if needed) bare repository."""
        problem = url_problem(url)
        if problem is not None:  # it becomes the cache's remote URL in a config file
            raise SourceError(f"{shown(url)} is not a git URL ({problem})")
        repo = self.repo_dir(url)
        with file_lock(self.root / f"{cache_key(url)}.lock", timeout=600):
            if not (repo / "HEAD").exists():
                self._create(repo, url)
            yield repo

    def _create(self, repo: Path, url: str) -> None:
        # Built beside its final name, then renamed: a killed run never leaves half a repo.
        # Random like uuid4, without importing uuid (and platform) on every `add`.
        temp = repo.with_name(f".{repo.name}.{os.urandom(16).hex()}")
        temp.mkdir(parents=True)
        # The layout of gitrepository-layout(5), written directly: `git init` plus the
        # config calls cost more than fetching a small source.
        for folder in ("objects", "refs/heads", "refs/tags"):
            (temp / folder).mkdir(parents=True)
        (temp / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
        quoted = url.replace("\\", "\\\\").replace('"', '\\"')
        (temp / "config").write_text(
            "[core]\n"
            "\trepositoryformatversion = 1\n"
            "\tbare = true\n"
            '[remote "origin"]\n'
            f'\turl = "{quoted}"\n'
            "\tpromisor = true\n"
            "\tpartialclonefilter = blob:none\n"
            "[extensions]\n"
            "\tpartialClone = origin\n",
            encoding="utf-8",
        )
        if repo.exists():
            import shutil

            shutil.rmtree(repo)
        os.rename(temp, repo)
        self._new.add(repo)

    def resolve(
        self, url: str, ref: str | None, *, meanwhile: Callable[[], object] | None = None
    ) -> str:
        """The commit `ref` (default: the remote HEAD) names, fetching it into the cache.

        `meanwhile` runs (once) while git talks to the server; not at all when it need not.
        """
        meanwhile = _once(meanwhile) if meanwhile is not None else None
        with self.locked(url) as repo:
            if ref is not None and FULL_SHA.fullmatch(ref) and _has_commit(repo, ref):
                return ref  # a pinned commit already here: no network, nothing shown
            with self.progress(f"fetching {url}" + (f" ({ref})" if ref else "")):
                kept = self._kept_remote_head(repo, url, meanwhile) if ref is None else None
                if kept is not None:
                    return kept
                self._fetch(repo, url, ref or "HEAD", meanwhile)
            if ref is not None and FULL_SHA.fullmatch(ref):
                if not _has_commit(repo, ref):
                    raise SourceError(f"{url}: commit {ref} not found on the server")
                sha = ref
            else:
                sha = self._list_objects(repo, url, "FETCH_HEAD^{commit}")
            _keep(repo, sha)
            return sha

    def _kept_remote_head(
        self, repo: Path, url: str, meanwhile: Callable[[], object] | None
    ) -> str | None:
        """The server's HEAD when this cache already keeps that commit (then nothing to fetch).

        A fetch of an unchanged source still runs four git processes (and sends the tip's
        trees again: the cache is shallow); `ls-remote` runs one. A new cache skips this.
        """
        kept = repo / "refs" / "ai-skills"  # `_keep`: every commit resolved here before
        if not kept.is_dir():
            return None
        ask = git_command("ls-remote", operands=[("url", url), ("ref", "HEAD")])
        try:
            out = run_source_git(ask, repo, meanwhile=meanwhile)
        except CommandError as exc:
            raise SourceError(
                f"{url}: cannot fetch HEAD; check the URL, the ref and your access. {exc}"
            ) from exc
        for line in out.splitlines():
            oid, _, name = line.partition("\t")
            if name == "HEAD" and FULL_SHA.fullmatch(oid) and (kept / oid).is_file():
                return oid
        return None

    def _fetch(
        self, repo: Path, url: str, ref: str, meanwhile: Callable[[], object] | None
    ) -> None:
        attempts = [["--depth=1", "--filter=blob:none"], ["--filter=blob:none"], []]
        # A repository made this run holds one pack after its first fetch: nothing for git's
        # automatic maintenance to do, and it would cost a process.
        config = ["maintenance.auto=false"] if repo in self._new else []
        last: CommandError | None = None
        for extra in attempts:
            try:
                run_source_git(git_command("fetch", "-q", "--no-tags", *extra,
                                           operands=[("remote", "origin"), ("ref", ref)],
                                           config=config),
                               repo, meanwhile=meanwhile)
                return
            except CommandError as exc:  # server refuses shallow or filter: try plainer
                last = exc
        if FULL_SHA.fullmatch(ref):
            # Old servers refuse a want by SHA: fetch every branch and tag, then look.
            with contextlib.suppress(CommandError):
                run_source_git(git_command("fetch", "-q", "--tags", operands=[("remote", "origin")],
                                           config=["remote.origin.fetch=+refs/heads/*:refs/remotes/origin/*"]),
                               repo)
                run_source_git(
                    git_command("update-ref", operands=[("ref", "FETCH_HEAD"), ("ref", ref)]),
                    repo,
                )
                return
        assert last is not None
        raise SourceError(
            f"{url}: cannot fetch {shown(ref)}; check the URL, the ref and your access. {last}"
        ) from last

    def tree(self, url: str, sha: str) -> list[GitEntry]:
        """Every entry of the commit's tree (trees are always fetched, blobs may not be)."""
        if (url, sha) in self._trees:
            return self._trees[(url, sha)]
        with self.locked(url) as repo:
            # With every blob here (a local source, a full fetch), ls-tree can say their
            # sizes, which saves the size queries before each read. Never otherwise: in a
            # partial clone it would fetch each missing blob on its own.
            sizes = ["--long"] if not self._missing_blobs(repo, url, sha) else []
            args = git_command("ls-tree", "-r", "-z", *sizes, "--full-tree",
                               operands=[("ref", sha)])
            raw = run_git_bytes(args, cwd=repo, env=SAFE_GIT_ENV)
        entries = []
        for record in raw.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, kind, oid, *size = meta.decode().split()
            if kind == "blob" and size:
                self._sizes[oid] = int(size[0])
            entries.append(GitEntry(mode, kind, oid, path.decode("utf-8", "surrogateescape")))
        self._trees[(url, sha)] = entries
        return entries

    def blob_sizes(self, url: str, sha: str, oids: list[str]) -> dict[str, int]:
        """Size of each blob, fetching the missing ones in one batch first."""
        unknown = [oid for oid in dict.fromkeys(oids) if oid not in self._sizes]
        if unknown:
            with self.locked(url) as repo:
                self._prefetch(repo, url, sha, unknown)
                out = run_source_git(
                    git_command("cat-file", "--batch-check=%(objectname) %(objectsize)"),
                    repo,
                    input_text="".join(o + "\n" for o in unknown),
                )
            for line in out.splitlines():
                oid, size = line.split()
                self._sizes[oid] = int(size)
        return {oid: self._sizes[oid] for oid in oids}

    def read_blobs(self, url: str, oids: list[str]) -> dict[str, bytes]:
        """The contents of the given blobs (after `blob_sizes` made sure they are here)."""
        if not oids:
            return {}
        with self.locked(url) as repo:
            reader = self._readers.get(repo)
            if reader is None:
                reader = self._readers[repo] = ObjectReader(repo)
            return reader.read(list(dict.fromkeys(oids)))

    def _missing_blobs(self, repo: Path, url: str, sha: str) -> set[str]:
        """The objects of the commit not in the cache yet (a partial clone fetches blobs
        when they are needed)."""
        if (url, sha) not in self._missing:
            self._list_objects(repo, url, sha)
        return self._missing[(url, sha)]

    def _list_objects(self, repo: Path, url: str, rev: str) -> str:
        """The commit `rev` names, noting which of its objects the cache lacks.

        One rev-list says both (it prints the commit first), so a fetch is resolved without
        a `rev-parse` of its own.
        """
        listing = run_source_git(
            git_command("rev-list", "--objects", "--missing=print", "--no-walk",
                        operands=[("ref", rev)]),
            repo,
        ).splitlines()
        sha = listing[0] if listing else ""
        if not FULL_SHA.fullmatch(sha):
            raise SourceError(f"{repo}: git named {shown(sha)} as the commit {rev}")
        self._missing[(url, sha)] = {
            line[1:].split()[0] for line in listing if line.startswith("?")
        }
        return sha

    def _prefetch(self, repo: Path, url: str, sha: str, oids: list[str]) -> None:
        missing = self._missing_blobs(repo, url, sha)
        wanted = [oid for oid in dict.fromkeys(oids) if oid in missing]
        if wanted:
            with self.progress(f"fetching {len(wanted)} file(s) from {url}"):
                # No negotiation, as git's own lazy fetch does: told that we have the
                # commit, the server would assume we have its blobs too and send nothing.
                fetch = git_command("fetch", "-q", "--no-tags", "--no-write-fetch-head",
                                    "--filter=blob:none", "--stdin",
                                    operands=[("remote", "origin")],
                                    config=["fetch.negotiationAlgorithm=noop"])
                run_source_git(fetch, repo, input_text="".join(oid + "\n" for oid in wanted))
            missing.difference_update(wanted)


def _keep(repo: Path, sha: str) -> None:
    """Keep `sha` from garbage collection: `refs/ai-skills/SHA` in the cache's bare repo.

    Written as a loose ref, not with `git update-ref` (one git process less per fetch):
    `_create` made this repository with the files ref backend, and nothing else writes it.
    """
    if not FULL_SHA.fullmatch(sha):
        raise SourceError(f"{repo}: git named {shown(sha)} as the fetched commit")
    ref = repo / "refs" / "ai-skills" / sha
    if not ref.is_file():
        ref.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(ref, f"{sha}\n".encode(), durable=False)


def remote_commit(url: str, ref: str | None, *, cwd: Path) -> str | None:
    """What `ref` (default HEAD) points at on the server now, or None when it is gone."""
    name = ref or "HEAD"
    out = run_source_git(git_command("ls-remote", operands=[("url", url), ("ref", name),
                                                            ("ref", f"{name}^{{}}")]), cwd)
    found: dict[str, str] = {}
    for line in out.splitlines():
        oid, _, refname = line.partition("\t")
        found[refname] = oid
    for candidate in (f"refs/tags/{name}^{{}}", f"refs/heads/{name}", f"refs/tags/{name}", name):
        if candidate in found:
            return found[candidate]
    return None


def _once(action: Callable[[], object]) -> Callable[[], None]:
    """`action`, run by the first call only."""
    pending = [action]

    def run() -> None:
        if pending:
            pending.pop()()

    return run


def _has_commit(repo: Path, sha: str) -> bool:
    proc = run_git(git_command("cat-file", "-e", operands=[("ref", f"{sha}^{{commit}}")]),
                   cwd=repo, env=SAFE_GIT_ENV, check=False)
    return proc.returncode == 0
