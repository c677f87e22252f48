"""The first problem pydantic found in a JSON file, for one-line error messages.

pydantic is imported only for type checking: `lock` reads well-formed locks without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """Where (dotted field path, '' for the top) and what the first pydantic error is."""
    first = exc.errors()[0]
    return ".".join(str(p) for p in first["loc"]), first["msg"]
