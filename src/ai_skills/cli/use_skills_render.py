"""How use-skills shows a sync: one short stderr line per change, nothing on a no-op."""

from __future__ import annotations

import json
import sys

from ai_skills.cli.steps import step_line
from ai_skills.deploy.engine import Action, changes
from ai_skills.deploy.use_skills import SyncReport


def render_text(report: SyncReport, *, verbose: bool, planned: bool) -> None:
    """Changes (or planned changes), then warnings and errors, all on stderr."""
    shown = changes(report.steps) if planned else report.done
    if verbose:
        shown = shown + [step for step in report.steps if step.action == Action.KEEP]
    for step in shown:
        print(step_line("use-skills", step, planned=planned, base=report.repo), file=sys.stderr)
    for line in report.warnings:
        print(f"use-skills: warning: {line}", file=sys.stderr)
    for line in report.errors:
        print(f"use-skills: error: {line}", file=sys.stderr)


def render_json(report: SyncReport, *, planned: bool) -> None:
    """The whole report as JSON on stdout."""
    steps = report.steps if planned else report.done
    data = {
        "repo": str(report.repo),
        "planned": planned,
        "would_change": report.would_change,
        "steps": [
            {
                "action": step.action.value,
                "target": str(step.target),
                "source": step.source,
                "reason": step.reason or None,
            }
            for step in steps
            if step.action != Action.REFUSE
        ],
        "warnings": report.warnings,
        "errors": report.errors,
    }
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
