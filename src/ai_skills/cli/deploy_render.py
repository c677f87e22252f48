"""How `ai-skills deploy --global` shows its result."""

from __future__ import annotations

from ai_skills.cli.render import emit_json, note
from ai_skills.cli.steps import step_line
from ai_skills.deploy import changes
from ai_skills.global_deploy import GlobalDeployReport


def render_global(report: GlobalDeployReport, *, planned: bool, as_json: bool) -> None:
    """Changes on stderr, one line each; nothing on a no-op; JSON on stdout with --json."""
    steps = changes(report.steps if planned else report.done)
    if as_json:
        emit_json(
            {
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
        )
        return
    for step in steps:
        note(step_line("ai-skills", step, planned=planned))
    for line in report.warnings:
        note(f"ai-skills: warning: {line}")
    for step in report.refused:
        note(f"ai-skills: error: {step.target}: {step.reason}")
    seen = set()
    for error in report.errors:
        if error.message not in seen:
            seen.add(error.message)
            note(f"ai-skills: error: {error.message}")
