"""Where and what pydantic found wrong in a file, for one-line error messages.

pydantic is imported only for type checking: `lock` reads well-formed locks without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Where (dotted field path, '' for the top) and what, for every pydantic error."""
    return [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """Where (dotted field path, '' for the top) and what the first pydantic error is."""
    return problems(exc)[0]


def all_problems(exc: ValidationError) -> str:
    """Every error as `where: what`, joined with '; ' (`(top)` for the whole document)."""
    return "; ".join(f"{where or '(top)'}: {what}" for where, what in problems(exc))
