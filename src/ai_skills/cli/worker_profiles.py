"""`worker profiles` and `worker doctor`, registered on the `worker` app (wiring only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from ai_skills.cli.render import render
from ai_skills.cli.worker_common import JsonOpt, load_worker_config, open_repo
from ai_skills.worker.errors import EXIT_ENVIRONMENT


def register_profile_commands(app: typer.Typer) -> None:
    """Add `profiles` and `doctor` to the `worker` app."""
    app.command()(profiles)
    app.command()(doctor)


def profiles(as_json: JsonOpt = False) -> None:
    """List the runtime profiles of .worker.toml: command, model, environment names, order."""
    from ai_skills.worker.run.profile_views import describe_profiles

    views = describe_profiles(load_worker_config(open_repo()))
    render(views, as_json=as_json, lines=lambda: _profile_lines(views))


def _profile_lines(views: list[Any]) -> Iterator[str]:
    if not views:
        yield "no profiles; define [profiles.NAME] in .worker.toml (docs/worker.md)"
    for v in views:
        order = "-" if v.order is None else str(v.order + 1)
        env = f"  env {', '.join(v.env)}" if v.env else ""
        yield f"{order:>2} {v.name:<16} {' '.join(v.command)}{env}"


def doctor(as_json: JsonOpt = False) -> None:
    """Check each profile (or the runtime): program on PATH, version, headless flags, endpoint.

    Says what to fix for each problem. Exit 6 when a profile cannot run an agent unattended.
    """
    import os

    from ai_skills.worker.ops.doctor import diagnose, running_as_root

    ctx = open_repo()
    found = diagnose(
        load_worker_config(ctx), dict(os.environ), repo=ctx.repo_root, is_root=running_as_root()
    )
    render(found, as_json=as_json, lines=lambda: _health_lines(found))
    if not all(h.ok for h in found):
        raise typer.Exit(EXIT_ENVIRONMENT)


def _health_lines(found: list[Any]) -> Iterator[str]:
    for health in found:
        yield f"{health.profile}: {' '.join(health.command)}"
        for check in health.checks:
            yield f"  {check.status:<4}  {check.name:<9} {check.detail}"
            if check.fix and check.status != "ok":
                yield f"        fix: {check.fix}"
