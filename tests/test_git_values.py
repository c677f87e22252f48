"""The grammars a value must pass before it reaches git, checked against git itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ai_skills.install.git_values import ref_problem, subpath_problem, url_problem
from ai_skills.install.source_git import SourceError, git_command

REF_ALPHABET = st.sampled_from(list("abz09-_./@{}^~:?*[\\ \t\n\x7f\u00e9") + ["..", ".lock"])


def git_accepts_ref(ref: str) -> bool:
    proc = subprocess.run(["git", "check-ref-format", "--allow-onelevel", ref],
                          capture_output=True)
    return proc.returncode == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(REF_ALPHABET, max_size=12).map("".join))
@example("main")
@example("refs/heads/feature/x")
@example("v1.0.0")
@example("a" * 40)
@example("-x")
@example("--upload-pack=touch x")
@example("@")
@example("a.lock/b")
@example("x/.y")
def test_our_ref_grammar_is_git_check_ref_format_minus_options(ref: str) -> None:
    if "\x00" in ref:
        return
    ours = ref_problem(ref) is None
    if ref.startswith("-") or len(ref) > 255:
        assert not ours
    else:
        assert ours == git_accepts_ref(ref), (ref, ref_problem(ref))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://github.com/o/r.git", None),
        ("ssh://git@host/o/r", None),
        ("git://host/r", None),
        ("file:///srv/skills", None),
        ("git@github.com:o/r.git", None),
        ("--upload-pack=x", "it starts with '-'"),
        ("ssh://-oProxyCommand=x/y", "its user or host starts with '-'"),
        ("ssh://-u@host/y", "its user or host starts with '-'"),
        ("http://host/r", "http:// is not allowed (use https://, ssh://, git://, file://)"),
        ("ext::sh -c x", "it holds a space"),
        ("ext::sh", "it is not a https://, ssh://, git://, file:// or user@host:path URL"),
        ("file://relative", "a file:// URL needs an absolute path"),
        ("https://h/a\n[core]", "it holds a control character"),
        ("https://h/\udcff", "it is not UTF-8 text"),
        ("", "it is empty"),
    ],
)
def test_url_grammar(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem


@pytest.mark.parametrize(
    ("path", "ok"),
    [("", True), ("skills/alpha", True), ("a b/c", True), ("/etc", False), ("a/../b", False),
     ("..", False), ("a//b", False), ("a\\b", False), ("-x", False), ("a\nb", False)],
)
def test_subpath_grammar(path: str, ok: bool) -> None:
    assert (subpath_problem(path) is None) == ok


def test_git_command_puts_operands_after_end_of_options() -> None:
    args = git_command("ls-remote", operands=[("url", "file:///x"), ("ref", "main^{}")])
    assert args[-4:] == ["ls-remote", "--end-of-options", "file:///x", "main^{}"]
    with pytest.raises(SourceError, match=r"^'--upload-pack=x' is not a git ref \(it starts"):
        git_command("fetch", operands=[("remote", "origin"), ("ref", "--upload-pack=x")])
    with pytest.raises(ValueError, match="must start with '-'"):
        git_command("fetch", "origin")


def test_git_command_output_runs_in_real_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path)], check=True)
    args = git_command("rev-parse", "--verify", operands=[("ref", "HEAD^{commit}")])
    proc = subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True)
    assert "Needed a single revision" in proc.stderr  # an empty repo: git parsed it as a rev
