"""The CLIs are the series the suite's facts were recorded with (docs/worker.md)."""

from __future__ import annotations

from .clis import OTHER_PINNED, PINNED


def test_agent_versions_are_the_pinned_series(versions: dict[str, str]) -> None:
    print(versions)
    for agent, series in (PINNED | OTHER_PINNED).items():
        assert series in versions[agent], f"{agent} is {versions[agent]!r}, expected {series}x"
