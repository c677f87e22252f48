"""Idempotency keys: the stored result of each keyed command (`command_results`)."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # `typing` costs `worker status` milliseconds (benchmarks/worker_bench.py)
if TYPE_CHECKING:
    from typing import Any

    from ai_skills.worker.store.backend import Db


def recall_result(db: Db, key: str | None) -> dict[str, Any] | None:
    """The stored result of an earlier command with this idempotency key, if any."""
    if not key:
        return None
    text = db.value("SELECT result FROM command_results WHERE key = ?", (key,))
    import json  # here, not above: opening the store (`worker status`) must not load `re`

    return None if text is None else dict(json.loads(text))


def remember_result(db: Db, key: str | None, command: str, result: dict[str, Any]) -> None:
    """Record a command's result under its idempotency key (inside the same transaction)."""
    if key:
        import json

        db.run(
            "INSERT INTO command_results (key, command, result, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (key, command, json.dumps(result, sort_keys=True, default=str), time.time()),
        )
