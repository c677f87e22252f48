"""`worker profiles` and `worker doctor`, registered on the `worker` app (wiring only)."""

from __future__ import annotations

import typer

from ai_skills.cli.render import emit_json, say
from ai_skills.cli.worker_common import JsonOpt, load_worker_config, open_repo
from ai_skills.worker.errors import EXIT_ENVIRONMENT


def register_profile_commands(app: typer.Typer) -> None:
    """Add `profiles` and `doctor` to the `worker` app."""
    app.command()(profiles)
    app.command()(doctor)


def profiles(as_json: JsonOpt = False) -> None:
    """List the runtime profiles of .worker.toml: command, model, environment names, order."""
    from ai_skills.worker.profile_views import describe_profiles

    views = describe_profiles(load_worker_config(open_repo()))
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    if not views:
        say("no profiles; define [profiles.NAME] in .worker.toml (docs/worker.md)")
    for v in views:
        order = "-" if v.order is None else str(v.order + 1)
        env = f"  env {', '.join(v.env)}" if v.env else ""
        say(f"{order:>2} {v.name:<16} {' '.join(v.command)}{env}")


def doctor(as_json: JsonOpt = False) -> None:
    """Check each profile (or the runtime): program on PATH, version, headless flags, endpoint.

    Says what to fix for each problem. Exit 6 when a profile cannot run an agent unattended.
    """
    import os

    from ai_skills.worker.doctor import diagnose, running_as_root

    ctx = open_repo()
    found = diagnose(
        load_worker_config(ctx), dict(os.environ), repo=ctx.repo_root, is_root=running_as_root()
    )
    if as_json:
        emit_json([h.as_dict() for h in found])
    else:
        for health in found:
            say(f"{health.profile}: {' '.join(health.command)}")
            for check in health.checks:
                say(f"  {check.status:<4}  {check.name:<9} {check.detail}")
                if check.fix and check.status != "ok":
                    say(f"        fix: {check.fix}")
    if not all(h.ok for h in found):
        raise typer.Exit(EXIT_ENVIRONMENT)
