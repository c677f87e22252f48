"""The agent prompt, rendered from a jinja2 template with StrictUndefined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_skills.worker.errors import ConfigError


def render_prompt(context: dict[str, Any], *, template_path: Path | None = None) -> str:
    """Render the prompt; a variable missing from `context` is an error, never blank text."""
    import jinja2

    if template_path is not None:
        try:
            source = template_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                path=str(template_path), detail=f"cannot read template (save it as UTF-8): {exc}"
            ) from exc
    else:
        templates = Path(__file__).parents[1] / "templates"
        source = (templates / "prompt.md.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    try:
        return env.from_string(source).render(**context)
    except jinja2.TemplateError as exc:
        where = str(template_path) if template_path else "built-in prompt template"
        raise ConfigError(path=where, detail=f"template error: {exc}") from exc

