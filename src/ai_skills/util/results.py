"""What every result dataclass shares: its JSON-ready form (printed by `cli.render`)."""

from __future__ import annotations

from typing import Any, ClassVar


class JsonResult:
    """Base of result dataclasses: `as_dict()` is every field, recursively (`asdict`).

    A result that adds derived fields or leaves some out overrides `as_dict`.
    """

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """This result as plain JSON-ready data."""
        from dataclasses import asdict  # a subclass is a dataclass: the module is loaded

        return asdict(self)
