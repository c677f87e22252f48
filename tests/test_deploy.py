"""The deploy engine: ownership, idempotence, crash healing, foreign files untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ai_skills.deploy.engine import Action, deploy, plan_links, read_record
from ai_skills.util.fs import temp_sibling


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(target folder, source folder with skills a and b, state folder)."""
    sources = tmp_path / "sources"
    for name in ("a", "b"):
        (sources / name).mkdir(parents=True)
    return tmp_path / "targets", sources, tmp_path / "state"


def test_first_deploy_creates_links_and_records_them(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    desired = {targets / "a": str(sources / "a"), targets / "b": str(sources / "b")}
    result = deploy(desired, state, dry_run=False)
    assert [s.action for s in result.done] == [Action.CREATE, Action.CREATE]
    assert os.readlink(targets / "a") == str(sources / "a")
    assert read_record(state / "links.json").links == {str(k): v for k, v in desired.items()}


def test_second_deploy_changes_nothing_and_writes_nothing(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    desired = {targets / "a": str(sources / "a")}
    deploy(desired, state, dry_run=False)
    before = (state / "links.json").stat().st_mtime_ns
    result = deploy(desired, state, dry_run=False)
    assert result.done == []
    assert (state / "links.json").stat().st_mtime_ns == before


def test_unwanted_own_link_is_removed(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    deploy({targets / "a": str(sources / "a"), targets / "b": str(sources / "b")}, state,
           dry_run=False)
    result = deploy({targets / "a": str(sources / "a")}, state, dry_run=False)
    assert [(s.action, s.target.name) for s in result.done] == [(Action.REMOVE, "b")]
    assert not os.path.lexists(targets / "b")


def test_own_link_to_old_source_is_replaced(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    deploy({targets / "a": str(sources / "a")}, state, dry_run=False)
    result = deploy({targets / "a": str(sources / "b")}, state, dry_run=False)
    assert [s.action for s in result.done] == [Action.REPLACE]
    assert os.readlink(targets / "a") == str(sources / "b")


def test_real_folder_at_target_is_refused_and_untouched(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    mine = targets / "a"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_bytes(b"my own work\n")
    result = deploy({mine: str(sources / "a")}, state, dry_run=False)
    assert [s.action for s in result.refused] == [Action.REFUSE]
    assert "real folder" in result.refused[0].reason
    assert (mine / "notes.txt").read_bytes() == b"my own work\n"
    assert not mine.is_symlink()


def test_foreign_link_is_refused_and_untouched(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    targets.mkdir()
    os.symlink("/somewhere/else", targets / "a")
    result = deploy({targets / "a": str(sources / "a")}, state, dry_run=False)
    assert "did not make" in result.refused[0].reason
    assert os.readlink(targets / "a") == "/somewhere/else"


def test_foreign_link_is_never_removed_even_if_recorded_elsewhere(
    world: tuple[Path, Path, Path],
) -> None:
    targets, sources, state = world
    deploy({targets / "a": str(sources / "a")}, state, dry_run=False)
    os.unlink(targets / "a")
    os.symlink("/user/changed/it", targets / "a")  # the user replaced our link
    result = deploy({}, state, dry_run=False)
    assert [s.action for s in result.done] == [Action.FORGET]
    assert os.readlink(targets / "a") == "/user/changed/it"
    assert read_record(state / "links.json").links == {}


def test_lost_record_adopts_matching_links_and_removes_nothing(
    world: tuple[Path, Path, Path],
) -> None:
    targets, sources, state = world
    desired = {targets / "a": str(sources / "a"), targets / "b": str(sources / "b")}
    deploy(desired, state, dry_run=False)
    (state / "links.json").unlink()
    result = deploy({targets / "a": str(sources / "a")}, state, dry_run=False)
    assert [s.action for s in result.done] == [Action.ADOPT]
    assert os.path.islink(targets / "b"), "unknown links stay when the record is lost"


def test_dry_run_plans_but_changes_nothing(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    result = deploy({targets / "a": str(sources / "a")}, state, dry_run=True)
    assert [s.action for s in result.steps] == [Action.CREATE]
    assert not os.path.lexists(targets / "a")
    assert not (state / "links.json").exists()


def test_leftover_temp_link_from_a_killed_run_is_cleaned(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    targets.mkdir()
    leftover = temp_sibling(targets / "a").with_name(".a.ai-skills-tmp-999999999")
    os.symlink(str(sources / "a"), leftover)
    result = deploy({targets / "a": str(sources / "a")}, state, dry_run=False,
                    managed_dirs=(targets,))
    assert {s.action for s in result.done} == {Action.CREATE, Action.CLEAN}
    assert not os.path.lexists(leftover)


@pytest.mark.parametrize("crash_point", ["after-links-before-record", "record-but-no-link"])
def test_every_crash_point_plans_back_to_the_same_state(
    world: tuple[Path, Path, Path], crash_point: str
) -> None:
    targets, sources, state = world
    desired = {targets / "a": str(sources / "a")}
    if crash_point == "after-links-before-record":
        targets.mkdir()
        os.symlink(str(sources / "a"), targets / "a")
    else:
        deploy(desired, state, dry_run=False)
        os.unlink(targets / "a")
    deploy(desired, state, dry_run=False)
    assert os.readlink(targets / "a") == str(sources / "a")
    assert read_record(state / "links.json").links == {str(targets / "a"): str(sources / "a")}
    assert all(s.action == Action.KEEP for s in plan_links(desired, read_record(
        state / "links.json")))


def test_held_folder_keeps_its_links(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    deploy({targets / "a": str(sources / "a")}, state, dry_run=False)
    result = deploy({}, state, dry_run=False, held_dirs=(targets,))
    assert result.done == []
    assert os.path.islink(targets / "a")


def test_paths_with_spaces(tmp_path: Path) -> None:
    source = tmp_path / "my skills" / "a b"
    source.mkdir(parents=True)
    target = tmp_path / "agent dir" / "skills" / "a b"
    deploy({target: str(source)}, tmp_path / "state dir", dry_run=False)
    assert os.readlink(target) == str(source)


def test_links_made_by_a_run_killed_before_its_final_record_are_still_ours(
    world: tuple[Path, Path, Path],
) -> None:
    from ai_skills.deploy.engine import empty_record

    targets, sources, state = world
    # The killed run had written its intent (pending) and made one of its two links.
    record = empty_record()
    record.pending.update({str(targets / "a"): str(sources / "a"),
                           str(targets / "b"): str(sources / "b")})
    state.mkdir()
    (state / "links.json").write_text(record.to_json())
    targets.mkdir()
    os.symlink(str(sources / "a"), targets / "a")
    # The next run wants neither: the half-made link is removed, not treated as foreign.
    result = deploy({}, state, dry_run=False)
    assert {(s.action, s.target.name) for s in result.done} == {
        (Action.REMOVE, "a"), (Action.FORGET, "b")}
    assert not os.path.lexists(targets / "a")
    assert read_record(state / "links.json") == empty_record()


def test_replace_interrupted_either_side_of_the_rename_is_still_ours(
    world: tuple[Path, Path, Path],
) -> None:
    targets, sources, state = world
    (sources / "c").mkdir()
    deploy({targets / "a": str(sources / "a")}, state, dry_run=False)
    record = read_record(state / "links.json")
    record.pending[str(targets / "a")] = str(sources / "b")  # intent to replace a -> b
    (state / "links.json").write_text(record.to_json())
    for current in (str(sources / "a"), str(sources / "b")):
        os.unlink(targets / "a")
        os.symlink(current, targets / "a")
        result = deploy({targets / "a": str(sources / "c")}, state, dry_run=True)
        assert [s.action for s in result.steps] == [Action.REPLACE]


ADD, DEPLOY = ("add --global", "deploy --global"), ("deploy --global", "deploy --global")


def test_a_shared_record_keeps_each_owner_to_its_own_links(
    world: tuple[Path, Path, Path],
) -> None:
    targets, sources, state = world
    deploy({targets / "a": str(sources / "a")}, state, dry_run=False, owner=ADD)
    # The other owner wants the same link: met, but not adopted; then it wants another.
    shared = deploy({targets / "a": str(sources / "a")}, state, dry_run=False, owner=DEPLOY)
    assert [(s.action, s.reason) for s in shared.steps] == [
        (Action.KEEP, "made by `ai-skills add --global`")]
    deploy({targets / "b": str(sources / "b")}, state, dry_run=False, owner=DEPLOY)
    assert os.readlink(targets / "a") == str(sources / "a")
    record = read_record(state / "links.json")
    assert record.owners == {str(targets / "a"): "add --global",
                             str(targets / "b"): "deploy --global"}
    # Wanting its target for another source is refused, naming the owner.
    refused = deploy({targets / "a": str(sources / "b"), targets / "b": str(sources / "b")},
                     state, dry_run=False, owner=DEPLOY)
    assert "`ai-skills add --global` made it" in refused.refused[0].reason
    assert os.readlink(targets / "a") == str(sources / "a")
    # Each removes only its own.
    deploy({}, state, dry_run=False, owner=ADD)
    assert not os.path.lexists(targets / "a") and os.path.islink(targets / "b")


def test_unmarked_entries_belong_to_the_default_owner(world: tuple[Path, Path, Path]) -> None:
    targets, sources, state = world
    deploy({targets / "a": str(sources / "a")}, state, dry_run=False)  # written unmarked
    deploy({}, state, dry_run=False, owner=ADD)
    assert os.path.islink(targets / "a")
    deploy({}, state, dry_run=False, owner=DEPLOY)
    assert not os.path.lexists(targets / "a")


def test_pending_entries_of_another_owner_survive_a_run(world: tuple[Path, Path, Path]) -> None:
    from ai_skills.deploy.engine import empty_record

    targets, sources, state = world
    record = empty_record()
    record.pending[str(targets / "a")] = str(sources / "a")
    record.owners[str(targets / "a")] = "add --global"
    state.mkdir()
    (state / "links.json").write_text(record.to_json())
    targets.mkdir()
    os.symlink(str(sources / "a"), targets / "a")  # made by a killed `add --global`
    deploy({targets / "b": str(sources / "b")}, state, dry_run=False, owner=DEPLOY)
    after = read_record(state / "links.json")
    assert after.owners[str(targets / "a")] == "add --global"
    deploy({}, state, dry_run=False, owner=ADD)
    assert not os.path.lexists(targets / "a")


def test_a_replace_interrupted_for_one_owner_stays_its_own_through_anothers_run(
    world: tuple[Path, Path, Path],
) -> None:
    targets, sources, state = world
    (sources / "c").mkdir()
    deploy({targets / "a": str(sources / "a")}, state, dry_run=False, owner=ADD)
    record = read_record(state / "links.json")
    record.pending[str(targets / "a")] = str(sources / "b")  # intent to replace a -> b
    (state / "links.json").write_text(record.to_json())
    os.unlink(targets / "a")
    os.symlink(str(sources / "b"), targets / "a")  # renamed, then killed
    deploy({targets / "x": str(sources / "c")}, state, dry_run=False, owner=DEPLOY)
    result = deploy({targets / "a": str(sources / "c")}, state, dry_run=False, owner=ADD)
    assert [s.action for s in result.done] == [Action.REPLACE]
    assert os.readlink(targets / "a") == str(sources / "c")
