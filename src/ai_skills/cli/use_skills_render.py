"""How use-skills shows a sync: one short stderr line per change, nothing on a no-op."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ai_skills.deploy import Action, Step
from ai_skills.use_skills import SyncReport

_VERBS = {
    Action.CREATE: ("linked", "would link"),
    Action.REPLACE: ("relinked", "would relink"),
    Action.REMOVE: ("unlinked", "would unlink"),
    Action.CLEAN: ("cleaned", "would clean"),
    Action.ADOPT: ("adopted", "would adopt"),
    Action.FORGET: ("forgot", "would forget"),
    Action.KEEP: ("unchanged", "unchanged"),
}


def _where(path: Path, repo: Path) -> str:
    return str(path.relative_to(repo)) if path.is_relative_to(repo) else str(path)


def _line(step: Step, repo: Path, *, planned: bool) -> str:
    verb = _VERBS[step.action][1 if planned else 0]
    text = f"use-skills: {verb} {_where(step.target, repo)}"
    if step.action in (Action.CREATE, Action.REPLACE) and step.source:
        text += f" -> {step.source}"
    if step.action in (Action.FORGET, Action.CLEAN) and step.reason:
        text += f" ({step.reason})"
    return text


def render_text(report: SyncReport, *, verbose: bool, planned: bool) -> None:
    """Changes (or planned changes), then warnings and errors, all on stderr."""
    shown = report.steps if planned else report.done
    for step in shown:
        if step.action == Action.REFUSE:
            continue
        if step.action == Action.KEEP and not verbose:
            continue
        print(_line(step, report.repo, planned=planned), file=sys.stderr)
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
