"""`Value`: a plain class compared, hashed and shown by its `__slots__`, as a NamedTuple is.

For the types `worker status` builds (RepoContext, StoreSetting, TaskStatus): `typing`
(for NamedTuple) and `dataclasses` (with `inspect`) each cost it more than its work
(benchmarks/worker_bench.py).
"""

from __future__ import annotations


class Value:
    """Equal to another of its class with equal fields; `__slots__` names the fields."""

    __slots__: tuple[str, ...] = ()

    def fields(self) -> dict[str, object]:
        """The fields by name, in their order."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.fields() == other.fields()

    def __hash__(self) -> int:
        return hash(tuple(self.fields().values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.fields().items())
        return f"{type(self).__name__}({shown})"
