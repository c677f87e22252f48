"""`worker profiles`, registered on the `worker` app (wiring only, like `ai_skills.cli.worker`)."""

from __future__ import annotations

import typer

from ai_skills.cli.render import emit_json, say
from ai_skills.cli.worker_common import JsonOpt, load_worker_config, open_repo


def register_profile_commands(app: typer.Typer) -> None:
    """Add `profiles` to the `worker` app."""
    app.command()(profiles)


def profiles(as_json: JsonOpt = False) -> None:
    """List the runtime profiles of .worker.toml: command, model, environment names, order."""
    from ai_skills.worker.profiles import describe_profiles

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
