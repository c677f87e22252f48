"""Queries over a list of task ids, in bounded chunks: portable `IN (?, ...)`, never one
statement with ten thousand parameters (SQLite and PostgreSQL both cap them)."""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` costs `worker status` milliseconds (benchmarks/worker_bench.py)
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

CHUNK = 500


def id_chunks(ids: Sequence[str]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(`?, ?, ...` placeholders, ids) for each chunk of at most CHUNK ids, in order."""
    for start in range(0, len(ids), CHUNK):
        chunk = tuple(ids[start : start + CHUNK])
        yield ", ".join("?" * len(chunk)), chunk
