"""The content hash pinned in lock files: deterministic, and sensitive to what matters."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_skills.install.contenthash import (
    UnsafeContentError,
    diff_states,
    folder_states,
    hash_folder,
)


def build(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "SKILL.md").write_text("skill\n")
    (root / "sub/run.sh").write_text("#!/bin/sh\n")
    (root / "sub/run.sh").chmod(0o755)
    os.symlink("sub/run.sh", root / "run")
    return root


def test_same_content_same_hash_wherever_it_lives(tmp_path: Path) -> None:
    a = build(tmp_path / "a")
    b = build(tmp_path / "elsewhere/b")
    assert hash_folder(a) == hash_folder(b)
    assert hash_folder(a).startswith("sha256:") and len(hash_folder(a)) == 71


def test_umask_does_not_matter_but_the_execute_bit_does(tmp_path: Path) -> None:
    a = build(tmp_path / "a")
    before = hash_folder(a)
    (a / "SKILL.md").chmod(0o600)
    assert hash_folder(a) == before
    (a / "SKILL.md").chmod(0o700)
    assert hash_folder(a) != before


@pytest.mark.parametrize("change", ["bytes", "rename", "link", "add"])
def test_every_kind_of_change_changes_the_hash(tmp_path: Path, change: str) -> None:
    a = build(tmp_path / "a")
    before = hash_folder(a)
    if change == "bytes":
        (a / "SKILL.md").write_text("skilL\n")
    elif change == "rename":
        (a / "SKILL.md").rename(a / "SKILL.MD")
    elif change == "link":
        (a / "run").unlink()
        os.symlink("sub/./run.sh", a / "run")
    else:
        (a / "sub/empty").write_text("")
    assert hash_folder(a) != before


def test_a_fifo_is_refused_by_path(tmp_path: Path) -> None:
    a = build(tmp_path / "a")
    os.mkfifo(a / "sub/pipe")
    with pytest.raises(UnsafeContentError, match=r"sub/pipe: not a regular file"):
        hash_folder(a)


def test_diff_states_names_each_change(tmp_path: Path) -> None:
    a = build(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b, symlinks=True)
    (b / "SKILL.md").write_text("new\n")
    (b / "sub/run.sh").unlink()
    (b / "extra").write_text("x")
    assert diff_states(folder_states(a), folder_states(b)) == [
        ("modified", "SKILL.md"), ("added", "extra"), ("removed", "sub/run.sh")]


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.binary(max_size=64),
                       min_size=1, max_size=5))
def test_hash_ignores_creation_order(tmp_path_factory: pytest.TempPathFactory,
                                     files: dict[str, bytes]) -> None:
    base = tmp_path_factory.mktemp("order")
    forward, backward = base / "f", base / "b"
    forward.mkdir()
    backward.mkdir()
    for name in files:
        (forward / name).write_bytes(files[name])
    for name in reversed(list(files)):
        (backward / name).write_bytes(files[name])
    assert hash_folder(forward) == hash_folder(backward)
