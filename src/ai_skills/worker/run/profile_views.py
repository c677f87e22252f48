"""What `worker profiles` shows: the configured profiles as views (no store, no CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ai_skills.util.results import JsonResult
from ai_skills.worker.run.profiles import dedupe, profile_command

if TYPE_CHECKING:
    from ai_skills.worker.config import WorkerConfig


@dataclass(frozen=True)
class ProfileView(JsonResult):
    """One profile as `worker profiles` lists it (environment names only: values are secrets)."""

    name: str
    command: list[str]
    model: str | None
    env: list[str]
    order: int | None  # place in the global chain, None when only tasks name it


def describe_profiles(config: WorkerConfig) -> list[ProfileView]:
    """Every configured profile, those of the global chain first, in chain order."""
    chain = dedupe([config.profile, *config.fallback])
    views = [
        ProfileView(
            name=name,
            command=profile_command(profile),
            model=profile.model,
            env=sorted(profile.env),
            order=chain.index(name) if name in chain else None,
        )
        for name, profile in config.profiles.items()
    ]
    return sorted(views, key=lambda v: (v.order is None, v.order or 0, v.name))
