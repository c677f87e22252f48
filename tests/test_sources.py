"""Source parsing, URL normalising, the fetch cache and its behaviour under concurrency."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_skills.errors import CommandError
from ai_skills.install.source_git import SourceError
from ai_skills.install.source_spec import normalise_url, parse_source
from ai_skills.install.sources import SourceCache, cache_key, cache_root, remote_commit
from tests.source_repos import commit_all, git, make_source, url_of


def test_parse_source_forms(tmp_path: Path) -> None:
    assert parse_source("anthropics/skills", cwd=tmp_path).url == \
        "https://github.com/anthropics/skills.git"
    assert parse_source("https://example.com/x/y.git/", cwd=tmp_path).url == \
        "https://example.com/x/y.git"
    assert parse_source("git@github.com:o/r.git", cwd=tmp_path).url == "git@github.com:o/r.git"
    assert parse_source("ssh://git@host/o/r", cwd=tmp_path).url == "ssh://git@host/o/r"
    assert parse_source("file:///srv/skills", cwd=tmp_path).url == "file:///srv/skills"


def test_parse_local_folder_inside_a_repo(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    spec = parse_source("src/skills/alpha", cwd=tmp_path)
    assert (spec.url, spec.subpath) == (url_of(source), "skills/alpha")
    assert parse_source(str(source), cwd=tmp_path).subpath == ""


def test_parse_local_folder_outside_git_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "loose").mkdir()
    with pytest.raises(SourceError, match="not inside a git repository; .*git init"):
        parse_source("./loose", cwd=tmp_path)


def test_normalise_url_and_key() -> None:
    assert normalise_url("HTTPS://GitHub.com/Owner/Repo.git/") == "https://github.com/Owner/Repo"
    assert cache_key("https://github.com/o/r") == cache_key("HTTPS://GITHUB.COM/o/r.git")
    assert cache_key("https://github.com/o/r") != cache_key("https://github.com/o/R")


@given(st.from_regex(r"https://[a-z]{1,8}\.[a-z]{2,3}/[A-Za-z0-9_-]{1,10}", fullmatch=True))
def test_normalise_is_idempotent(url: str) -> None:
    once = normalise_url(url)
    assert normalise_url(once) == once
    assert normalise_url(url + ".git/") == once


class Recorder:
    """A progress callback that remembers what it was asked to show."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    @contextlib.contextmanager
    def __call__(self, message: str) -> Iterator[None]:
        self.messages.append(message)
        yield


def test_cache_fetches_once_and_a_pinned_commit_is_a_silent_hit(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    head = git(source, "rev-parse", "HEAD")
    progress = Recorder()
    cache = SourceCache(cache_root(os.environ), progress=progress)
    assert cache.resolve(url_of(source), None) == head
    assert progress.messages == [f"fetching {url_of(source)}"]
    progress.messages.clear()
    assert cache.resolve(url_of(source), head) == head
    assert progress.messages == []
    assert sorted(p.suffix for p in cache_root(os.environ).iterdir()) == [".git", ".lock"]


def test_an_unchanged_source_is_asked_for_its_head_not_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    cache = SourceCache(cache_root(os.environ))
    url = url_of(source)
    first = cache.resolve(url, None)
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    assert cache.resolve(url, None) == first
    assert "git fetch" not in trace.read_text() and "git ls-remote" in trace.read_text()
    (source / "skills/alpha/new.md").write_text("new\n")
    second = commit_all(source)
    assert cache.resolve(url, None) == second  # moved on: fetched
    assert "git fetch" in trace.read_text()
    git(source, "reset", "-q", "--hard", first)  # back to a commit the cache keeps
    trace.unlink()
    assert cache.resolve(url, None) == first
    assert "git fetch" not in trace.read_text()


def test_cache_resolves_branches_tags_and_old_commits(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    first = git(source, "rev-parse", "HEAD")
    git(source, "tag", "-a", "v1", "-m", "v1")
    git(source, "checkout", "-q", "-b", "dev")
    (source / "skills/alpha/x.md").write_text("x\n")
    dev = commit_all(source)
    cache = SourceCache(cache_root(os.environ))
    url = url_of(source)
    assert cache.resolve(url, "v1") == first
    assert cache.resolve(url, "dev") == dev
    assert cache.resolve(url, "main") == first
    assert cache.resolve(url, first) == first
    assert remote_commit(url, "v1", cwd=tmp_path) == first
    assert remote_commit(url, "dev", cwd=tmp_path) == dev
    with pytest.raises(SourceError,
                       match=r"cannot fetch 'nope'; .* exited with 128: "
                             r"fatal: couldn't find remote ref nope"):
        cache.resolve(url, "nope")


def test_cache_reads_files_of_a_commit(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    cache = SourceCache(cache_root(os.environ))
    url = url_of(source)
    sha = cache.resolve(url, None)
    entries = {e.path: e for e in cache.tree(url, sha)}
    oid = entries["skills/alpha/SKILL.md"].oid
    assert cache.blob_sizes(url, sha, [oid]) == {oid: len((source / "skills/alpha/SKILL.md")
                                                          .read_bytes())}
    assert cache.read_blobs(url, [oid])[oid] == (source / "skills/alpha/SKILL.md").read_bytes()


def test_cache_repo_config_keeps_the_url_exactly(tmp_path: Path) -> None:
    url = 'https://host.example/a"b"\\c'
    cache = SourceCache(tmp_path / "cache")
    with cache.locked(url) as repo:
        assert git(repo, "config", "remote.origin.url") == url
        assert git(repo, "config", "extensions.partialClone") == "origin"
        assert git(repo, "config", "core.repositoryformatversion") == "1"


def test_partial_fetch_gets_only_the_blobs_asked_for(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha", "beta"])
    git(source, "config", "uploadpack.allowFilter", "true")  # the server honours blob:none
    progress = Recorder()
    cache = SourceCache(cache_root(os.environ), progress=progress)
    url = url_of(source)
    sha = cache.resolve(url, None)
    entries = {e.path: e.oid for e in cache.tree(url, sha)}
    repo = cache.repo_dir(url)
    missing = git(repo, "rev-list", "--objects", "--missing=print", "--no-walk", sha)
    assert f"?{entries['skills/alpha/SKILL.md']}" in missing.splitlines()
    wanted = entries["skills/alpha/SKILL.md"]
    size = cache.blob_sizes(url, sha, [wanted])[wanted]
    assert len(cache.read_blobs(url, [wanted])[wanted]) == size > 0
    assert progress.messages[-1] == f"fetching 1 file(s) from {url}"
    after = git(repo, "rev-list", "--objects", "--missing=print", "--no-walk", sha).splitlines()
    assert f"?{wanted}" not in after
    assert f"?{entries['skills/beta/SKILL.md']}" in after


def test_a_complete_commit_needs_no_size_queries_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "src", ["alpha", "beta"])
    cache = SourceCache(cache_root(os.environ))
    url = url_of(source)
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    sha = cache.resolve(url, None)
    oids = [e.oid for e in cache.tree(url, sha) if e.path.startswith("skills/alpha/")]
    sizes = cache.blob_sizes(url, sha, oids)
    blobs = cache.read_blobs(url, oids)
    assert sizes == {oid: len(blobs[oid]) for oid in oids}
    assert cache.blob_sizes(url, sha, oids[:1]) == {oids[0]: sizes[oids[0]]}
    ours = [line.split("trace: built-in: git ", 1)[1].split()
            for line in trace.read_text().splitlines() if "trace: built-in: git " in line]
    commands = [next(w for w in words if not w.startswith("-") and "=" not in w)
                for words in ours]
    # A new cache: no automatic maintenance, and the listing names the fetched commit.
    assert [c for c in commands if c not in ("upload-pack", "pack-objects", "index-pack")] == \
        ["fetch", "rev-list", "ls-tree", "cat-file"]
    monkeypatch.delenv("GIT_TRACE")
    repo = cache.repo_dir(url)
    assert git(repo, "rev-parse", f"refs/ai-skills/{sha}") == sha


def traced_commands(trace: Path) -> list[list[str]]:
    """The git commands GIT_TRACE recorded (each as its words after `git`)."""
    return [line.split("trace: built-in: git ", 1)[1].split()
            for line in trace.read_text().splitlines() if "trace: built-in: git " in line]


def test_one_git_process_reads_every_file_of_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "src", ["alpha", "beta"])
    for index in range(300):  # more ids than one batch of requests
        (source / f"skills/alpha/refs/{index}.md").parent.mkdir(exist_ok=True)
        (source / f"skills/alpha/refs/{index}.md").write_text(f"file {index}\n")
    commit_all(source)
    url = url_of(source)
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    with SourceCache(cache_root(os.environ)) as cache:
        sha = cache.resolve(url, None)
        entries = {e.path: e.oid for e in cache.tree(url, sha)}
        first = cache.read_blobs(url, [entries["skills/beta/SKILL.md"]])
        wanted = [oid for path, oid in entries.items() if path.startswith("skills/alpha/")]
        files = cache.read_blobs(url, [*wanted, wanted[0]])
    assert first[entries["skills/beta/SKILL.md"]] == (source / "skills/beta/SKILL.md").read_bytes()
    assert files[entries["skills/alpha/refs/299.md"]] == b"file 299\n"
    assert len(files) == len(wanted) > 300
    readers = [words for words in traced_commands(trace) if "cat-file" in words]
    assert len(readers) == 1 and "--batch" in readers[0]


def test_files_fetched_after_the_reader_started_are_read_by_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "src", ["alpha", "beta"])
    git(source, "config", "uploadpack.allowFilter", "true")  # the server honours blob:none
    url = url_of(source)
    trace = tmp_path / "trace"
    with SourceCache(cache_root(os.environ)) as cache:
        sha = cache.resolve(url, None)
        entries = {e.path: e.oid for e in cache.tree(url, sha)}
        alpha, beta = entries["skills/alpha/SKILL.md"], entries["skills/beta/SKILL.md"]
        cache.blob_sizes(url, sha, [alpha])
        assert cache.read_blobs(url, [alpha])[alpha] == \
            (source / "skills/alpha/SKILL.md").read_bytes()
        monkeypatch.setenv("GIT_TRACE", str(trace))
        cache.blob_sizes(url, sha, [beta])  # a fetch of its own, while the reader runs
        assert cache.read_blobs(url, [beta])[beta] == \
            (source / "skills/beta/SKILL.md").read_bytes()
    fetches = [words for words in traced_commands(trace) if "fetch" in words]
    assert len(fetches) == 1, fetches  # ours: git never fetched a blob lazily


def test_the_reader_names_an_object_the_cache_lacks(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    url = url_of(source)
    with SourceCache(cache_root(os.environ)) as cache:
        cache.resolve(url, None)
        with pytest.raises(CommandError, match="asked for 0{40}, got b?'?0{40} missing"):
            cache.read_blobs(url, ["0" * 40])


def test_no_git_to_read_with_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "src", ["alpha"])
    url = url_of(source)
    with SourceCache(cache_root(os.environ)) as cache:
        sha = cache.resolve(url, None)
        oid = next(e.oid for e in cache.tree(url, sha) if e.path == "skills/alpha/SKILL.md")
        assert cache.read_blobs(url, []) == {}
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        with pytest.raises(CommandError, match="exited with 127"):
            cache.read_blobs(url, [oid])
