"""`ai-skills new`: a spec-valid skill folder from the package's jinja2 templates."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from ai_skills.errors import AiSkillsError, UsageError
from ai_skills.skills.validation import SkillReport, name_problems, validate_skill

TEMPLATES = ("basic", "with-scripts")
_PLAIN_YAML = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ,.()'/_-]*$")


class TargetExistsError(AiSkillsError):
    """The folder for a new skill already exists."""


def template_root() -> Path:
    """Where the scaffold templates live inside the package."""
    return Path(__file__).resolve().parents[1] / "templates" / "new_skill"


def yaml_string(value: str) -> str:
    """`value` as a YAML scalar: plain when that is unambiguous, else double-quoted."""
    if _PLAIN_YAML.match(value) and not value.endswith(" "):
        return value
    return json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double-quoted scalars


def new_skill(
    parent: Path, name: str, *, template: str, description: str
) -> tuple[Path, SkillReport]:
    """Create `parent/name` from `template`; refuses to overwrite; returns it validated."""
    import jinja2

    errors = [message for severity, message in name_problems(name) if severity == "error"]
    if errors or "/" in name:
        raise UsageError(f"invalid skill name: {errors[0] if errors else name}")
    if template not in TEMPLATES:
        raise UsageError(f"unknown template '{template}'; choose one of: {', '.join(TEMPLATES)}")
    target = parent / name
    if os.path.lexists(target):
        raise TargetExistsError(f"{target} already exists; choose another name or folder")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_root() / template)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["yaml_string"] = yaml_string
    values = {"name": name, "title": name.replace("-", " ").capitalize(),
              "description": description}
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.new-", dir=parent))
    try:
        for source in sorted((template_root() / template).rglob("*.j2")):
            relative = source.relative_to(template_root() / template).as_posix()
            out = staging / env.from_string(relative.removesuffix(".j2")).render(values)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(env.get_template(relative).render(values), encoding="utf-8")
            if out.suffix == ".sh":
                out.chmod(0o755)
        staging.chmod(0o755)
        os.rename(staging, target)  # fails rather than replace if the name appeared meanwhile
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, validate_skill(target, strict=True)
