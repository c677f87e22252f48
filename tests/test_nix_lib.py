"""modules/lib.nix against the shared global-selection vectors, under real nix-instantiate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from global_selection_vectors import VECTOR_FILES, error_key, load, materialise
from nix_helpers import NIX_DIR, REPO, nix_eval, nix_json, nix_string

pytestmark = pytest.mark.nix

LIB = REPO / "modules" / "lib.nix"


@pytest.mark.parametrize("vector_file", VECTOR_FILES, ids=lambda p: p.stem)
def test_nix_lib_matches_vector(vector_file: Path, tmp_path: Path) -> None:
    vector = load(vector_file)
    materialise(vector, tmp_path)
    result = nix_json(
        NIX_DIR / "vectors.nix",
        args={"vectorFile": str(vector_file)},
        argstrs={"root": str(tmp_path)},
    )
    assert result["links"] == vector.expected_links
    assert sorted(error_key(e) for e in result["errors"]) == vector.expected_errors
    assert all(e["hasMessage"] for e in result["errors"])


def test_vectors_exist_and_cover_every_error_kind() -> None:
    kinds = {e[0] for f in VECTOR_FILES for e in load(f).expected_errors}
    assert kinds == {
        "unknown-skill",
        "invalid-name",
        "missing-skill-md",
        "invalid-front-matter",
        "name-mismatch",
    }


def lib_call(expr: str) -> object:
    return nix_json(expr=f"let aiLib = import {LIB}; in {expr}")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("review-gate", True),
        ("a", True),
        ("a1-b2-c3", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("Review", False),
        ("-a", False),
        ("a-", False),
        ("a--b", False),
        ("a_b", False),
        ("a.b", False),
    ],
)
def test_name_rules(name: str, valid: bool) -> None:
    assert lib_call(f"aiLib.isValidName {nix_string(name)}") is valid


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("---\nname: a\ndescription: b\n---\nbody\n", {"name": "a", "description": "b"}),
        ("---\r\nname: a\r\ndescription: 'it''s'\r\n---\r\n", {"name": "a", "description": "it's"}),
        ('---\nname: "a"\ndescription: "x: y"\n---\n', {"name": "a", "description": "x: y"}),
        (
            "---\nname: a # trailing comment\ndescription: |\n  one\n  two\n---\n",
            {"name": "a", "description": "one\ntwo"},
        ),
        (
            "---\nname: a\ndescription: >-\n  one\n  two\nmetadata:\n  k: v\n---\n",
            {"name": "a", "description": "one two", "metadata": "k: v"},
        ),
    ],
)
def test_front_matter_fields(text: str, fields: dict[str, str]) -> None:
    result = lib_call(f"aiLib.parseFrontMatter {nix_string(text)}")
    assert result["fields"] == fields
    assert result["kinds"] == {k: "map" if k == "metadata" else "string" for k in fields}
    assert result["duplicates"] == []


def test_front_matter_repeated_key_keeps_the_first_value() -> None:
    text = "---\nname: a\ndescription: d\nname: b\n---\n"
    result = lib_call(f"aiLib.parseFrontMatter {nix_string(text)}")
    assert result["fields"] == {"name": "a", "description": "d"}
    assert result["duplicates"] == ["name"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("# no front matter\n", "does not start"),
        ("", "does not start"),
        ("---\nname: a\n", "not closed"),
        ("---\nname a\n---\n", "is not `key: value`"),
        ("---\n  indented: first\n---\n", "indented line"),
        ("---\ndescription: Use when: asked\n---\n", "put the value in quotes"),
        ("---\ndescription: >\n\tfolded\n---\n", "tab"),
    ],
)
def test_front_matter_errors(text: str, reason: str) -> None:
    result = lib_call(f"aiLib.parseFrontMatter {nix_string(text)}")
    assert reason in result["error"]


@pytest.mark.parametrize(
    ("agent", "env", "expected"),
    [
        ("claude", {"HOME": "/h"}, "/h/.claude/skills"),
        ("claude", {"HOME": "/h", "CLAUDE_CONFIG_DIR": "/c"}, "/c/skills"),
        ("opencode", {"HOME": "/h"}, "/h/.config/opencode/skills"),
        ("opencode", {"HOME": "/h", "XDG_CONFIG_HOME": "/x//y/"}, "/x/y/opencode/skills"),
        ("codex", {"HOME": "/h"}, "/h/.codex/skills"),
        ("codex", {"HOME": "/h", "CODEX_HOME": "~/cx"}, "/h/cx/skills"),
        ("codex", {"HOME": "/h", "CODEX_HOME": "/a/../cx/"}, "/cx/skills"),
        ("opencode", {"HOME": "/h", "XDG_CONFIG_HOME": "rel"}, "/h/.config/opencode/skills"),
        ("agents", {"HOME": "/h", "CODEX_HOME": "/c"}, "/h/.agents/skills"),
        ("gemini-cli", {"HOME": "/h/"}, "/h/.gemini/skills"),
        ("gemini-cli", {"HOME": "/h", "GEMINI_CLI_HOME": "/g/"}, "/g/.gemini/skills"),
        ("gemini-cli", {"HOME": "/h", "GEMINI_CLI_HOME": ""}, "/h/.gemini/skills"),
        ("universal", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/agents/skills"),
    ],
)
def test_global_skills_dir(agent: str, env: dict[str, str], expected: str) -> None:
    env_nix = "{ " + " ".join(f"{k} = {nix_string(v)};" for k, v in env.items()) + " }"
    assert lib_call(f'aiLib.globalSkillsDir "{agent}" {env_nix} "/cwd"') == expected


def test_a_relative_agent_home_is_refused_like_python_refuses_it() -> None:
    proc = nix_eval(
        expr=f'(import {LIB}).globalSkillsDir "codex" {{ HOME = "/h"; CODEX_HOME = "cx"; }} "/"'
    )
    assert proc.returncode != 0
    assert "CODEX_HOME='cx' is a relative path" in proc.stderr


def test_the_agents_are_the_python_table_with_a_user_folder() -> None:
    table = json.loads((REPO / "src/ai_skills/agents.json").read_text(encoding="utf-8"))
    names = lib_call("aiLib.agentNames")
    assert names == [a["name"] for a in table["agents"] if a["global_dir"] is not None]
    assert names[:3] == ["claude", "opencode", "codex"]


def test_unknown_agent_is_an_evaluation_error() -> None:
    proc = nix_eval(
        expr=f"(import {LIB}).resolve {{ catalogDirs = [ ]; selection = {{ clade = [ ]; }}; }}"
    )
    assert proc.returncode != 0
    assert "unknown agent 'clade'" in proc.stderr


def test_catalog_data_lists_skills_with_descriptions(tmp_path: Path) -> None:
    for name, desc in (("alpha", "First."), ("beta", "Second.")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {desc}\n---\n")
    (tmp_path / "not-a-skill").mkdir()
    data = lib_call(
        f"builtins.mapAttrs (_: s: s // {{ path = toString s.path; }}) "
        f'(aiLib.catalogData [ "{tmp_path}" ])'
    )
    assert data == {
        "alpha": {"path": f"{tmp_path}/alpha", "description": "First."},
        "beta": {"path": f"{tmp_path}/beta", "description": "Second."},
    }


def test_linked_skill_folders_count_and_links_to_files_do_not(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "beta").mkdir(parents=True)
    (elsewhere / "beta" / "SKILL.md").write_text("---\nname: beta\ndescription: B.\n---\n")
    (elsewhere / "notes").write_text("a file\n")
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "beta").symlink_to(elsewhere / "beta")
    (catalog / "notes").symlink_to(elsewhere / "notes")
    result = lib_call(
        f'let r = aiLib.selectGlobal {{ catalogDirs = [ "{catalog}" ]; '
        'selection = { claude = [ "beta" "notes" ]; }; env = { HOME = "/h"; }; }; '
        "in { links = builtins.mapAttrs (_: toString) r.links; "
        "errors = map (e: e.kind) r.errors; }"
    )
    assert result == {
        "links": {"/h/.claude/skills/beta": f"{catalog}/beta"},
        "errors": ["unknown-skill"],
    }
