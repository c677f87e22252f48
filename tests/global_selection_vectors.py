"""The shared global-selection vectors: loading them and writing their catalogs to disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors" / "global_selection"
VECTOR_FILES = sorted(VECTOR_DIR.glob("*.json"))


@dataclass(frozen=True)
class Vector:
    """One case: its file, the raw JSON and what the code under test must produce."""

    path: Path
    data: dict[str, Any]

    @property
    def expected_links(self) -> dict[str, str]:
        return dict(self.data["expected"]["links"])

    @property
    def expected_errors(self) -> list[tuple[str, str, str | None]]:
        return sorted(error_key(e) for e in self.data["expected"]["errors"])


def load(path: Path) -> Vector:
    """Read one vector file."""
    return Vector(path=path, data=json.loads(path.read_text(encoding="utf-8")))


def error_key(error: dict[str, Any]) -> tuple[str, str, str | None]:
    """What the vectors compare of an error; the message is free-form."""
    return (error["kind"], error["skill"], error.get("agent"))


def materialise(vector: Vector, root: Path) -> list[Path]:
    """Write the vector's catalog folders under `root`; return them in search order."""
    dirs = []
    for entry in vector.data["catalog"]:
        catalog_dir = root / entry["label"]
        catalog_dir.mkdir(parents=True)
        for skill, files in entry["skills"].items():
            (catalog_dir / skill).mkdir()
            for rel, text in files.items():
                target = catalog_dir / skill / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        dirs.append(catalog_dir)
    return dirs


def label_of(source: Path | str, root: Path) -> str:
    """`<root>/<label>/<skill>` -> `<label>/<skill>`, the form the vectors use."""
    return Path(source).relative_to(root).as_posix()
