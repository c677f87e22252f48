"""How `ai-skills deploy --global` shows its result."""

from __future__ import annotations

from collections.abc import Iterator

from ai_skills.cli.render import render
from ai_skills.cli.steps import step_line
from ai_skills.deploy.engine import Step, changes
from ai_skills.deploy.global_deploy import GlobalDeployReport


def render_global(report: GlobalDeployReport, *, planned: bool, as_json: bool) -> None:
    """Changes on stderr, one line each; nothing on a no-op; JSON on stdout with --json."""
    steps = changes(report.steps if planned else report.done)
    data = {
        "planned": planned,
        "steps": [
            {"action": s.action.value, "target": str(s.target), "source": s.source}
            for s in steps
        ],
        "refused": [{"target": str(s.target), "reason": s.reason} for s in report.refused],
        "errors": [
            {"kind": e.kind, "skill": e.skill, "agent": e.agent, "message": e.message}
            for e in report.errors
        ],
        "warnings": report.warnings,
    }
    render(data, as_json=as_json, notes=lambda: _notes(report, steps, planned=planned))


def _notes(report: GlobalDeployReport, steps: list[Step], *, planned: bool) -> Iterator[str]:
    for step in steps:
        yield step_line("ai-skills", step, planned=planned)
    for line in report.warnings:
        yield f"ai-skills: warning: {line}"
    for step in report.refused:
        yield f"ai-skills: error: {step.target}: {step.reason}"
    seen = set()
    for error in report.errors:
        if error.message not in seen:
            seen.add(error.message)
            yield f"ai-skills: error: {error.message}"
