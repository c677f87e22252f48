"""ai_skills.deploy.global_selection.select_global against the shared global-selection vectors.

tests/test_nix_lib.py runs modules/lib.nix over the same files, so the home-manager module
and `ai-skills deploy --global` choose the same links and report the same errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_skills.deploy.global_selection import select_global
from global_selection_vectors import VECTOR_FILES, label_of, load, materialise


@pytest.mark.parametrize("vector_file", VECTOR_FILES, ids=lambda p: p.stem)
def test_select_global_matches_vector(vector_file: Path, tmp_path: Path) -> None:
    vector = load(vector_file)
    dirs = materialise(vector, tmp_path)
    result = select_global(dirs, vector.data["selection"], vector.data["env"])
    links = {str(target): label_of(source, tmp_path) for target, source in result.links.items()}
    assert links == vector.expected_links
    errors = sorted((e.kind, e.skill, e.agent) for e in result.errors)
    assert errors == vector.expected_errors
    assert all(e.message for e in result.errors)
