"""One wording for deploy steps, shared by use-skills and `ai-skills deploy --global`."""

from __future__ import annotations

from pathlib import Path

from ai_skills.deploy.engine import Action, Step
from ai_skills.util.fs import shown_path

# (after doing it, when only planned)
VERBS = {
    Action.CREATE: ("linked", "would link"),
    Action.REPLACE: ("relinked", "would relink"),
    Action.REMOVE: ("unlinked", "would unlink"),
    Action.CLEAN: ("cleaned", "would clean"),
    Action.ADOPT: ("adopted", "would adopt"),
    Action.FORGET: ("forgot", "would forget"),
    Action.KEEP: ("unchanged", "unchanged"),
}


def step_line(prog: str, step: Step, *, planned: bool, base: Path | None = None) -> str:
    """`PROG: linked TARGET -> SOURCE`, `PROG: would unlink TARGET`, ..."""
    verb = VERBS[step.action][1 if planned else 0]
    text = f"{prog}: {verb} {shown_path(step.target, base)}"
    if step.action in (Action.CREATE, Action.REPLACE) and step.source:
        text += f" -> {step.source}"
    if step.action in (Action.FORGET, Action.CLEAN) and step.reason:
        text += f" ({step.reason})"
    return text
