"""`worker hosts`, registered on the `worker` app: the hosts sharing the store.

Wiring only, like `ai_skills.cli.worker`.
"""

from __future__ import annotations

import typer

from ai_skills.cli.render import render
from ai_skills.cli.worker_common import JsonOpt, open_repo, open_store


def register_host_commands(app: typer.Typer) -> None:
    """Add `hosts` to the `worker` app."""
    app.command()(hosts)


def hosts(as_json: JsonOpt = False) -> None:
    """List the host daemons sharing the store: labels, running/WIP limit, lease state."""
    from ai_skills.worker.hosts import this_host
    from ai_skills.worker.ops.hosts import host_lines, host_statuses

    ctx = open_repo()
    here = this_host(ctx.worker_dir)
    found = host_statuses(open_store(ctx), here=None if here is None else here.name)
    render([h.as_dict() for h in found], as_json=as_json, lines=lambda: host_lines(found))
