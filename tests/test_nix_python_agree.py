"""Differential test: modules/lib.nix and ai_skills.deploy.global_selection judge the same generated
SKILL.md files the same way (linked, or which error kind). The hand-written vectors pin
the rules; this catches the YAML corners nobody thought to write down."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ai_skills.deploy.global_selection import select_global
from nix_helpers import REPO, nix_json

pytestmark = pytest.mark.nix

KEYS = [
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
    "model",
    "author",
]
VALUES = [
    "plain text", "C# notes", "text # comment", "# only comment", "'single'", '"double"',
    '"has: colon"', "has: colon", "ends with colon:", "@at", "`tick`", "%pct", "- item", "-",
    "[a, b]", "{a: b}", "", "|", ">", "|-", ">+", "123", "yes", "http://x.y/z", "a:b",
    "x" * 501, "y" * 1025, "'it''s'", "tab\there", "a - b", "?q", "!tag", "*alias",
]  # fmt: skip
CONTINUATIONS = [
    "  more text", "  - item", "  key: value", "  # comment", "", "\tTab", "    deeper", "  a:b",
]  # fmt: skip


def generated_skill_md(rng: random.Random, name: str) -> str:
    """A SKILL.md whose front matter mixes valid and broken YAML and fields."""
    keys = rng.sample(KEYS, rng.randint(1, 5))
    if "name" not in keys and rng.random() < 0.8:
        keys.insert(0, "name")
    if rng.random() < 0.15:
        keys.append(rng.choice(keys))
    lines = ["---"]
    for key in keys:
        if key == "name" and rng.random() < 0.7:
            value = rng.choice([name, f"'{name}'", f'"{name}"', f"{name} # note", "other"])
        else:
            value = rng.choice(VALUES)
        lines.append(f"{key}: {value}" if value else f"{key}:")
        lines += [rng.choice(CONTINUATIONS) for _ in range(rng.choice([0, 0, 0, 1, 2]))]
    return "\n".join([*lines, "---", "", "body", ""])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nix_and_python_agree_on_generated_front_matter(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    catalog = tmp_path / "catalog"
    names = [f"s{i}" for i in range(300)]
    for name in names:
        (catalog / name).mkdir(parents=True)
        (catalog / name / "SKILL.md").write_text(generated_skill_md(rng, name))

    python = {name: "linked" for name in names}
    result = select_global([catalog], {"claude": names}, {"HOME": "/h"})
    python.update({e.skill: e.kind for e in result.errors})

    nix = {name: "linked" for name in names}
    errors = nix_json(
        expr=(
            f"let r = (import {REPO}/modules/lib.nix).selectGlobal {{ "
            f'catalogDirs = [ "{catalog}" ]; '
            f"selection.claude = builtins.fromJSON {json.dumps(json.dumps(names))}; "
            'env.HOME = "/h"; }; in map (e: [ e.skill e.kind ]) r.errors'
        )
    )
    nix.update(dict(errors))

    differing = {
        name: (python[name], nix[name], (catalog / name / "SKILL.md").read_text())
        for name in names
        if python[name] != nix[name]
    }
    assert differing == {}
    # The generator must produce every outcome, or agreement would prove little.
    assert set(python.values()) >= {"linked", "invalid-front-matter", "name-mismatch"}
