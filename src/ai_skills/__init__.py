"""ai-skills: ship, deploy and run agent skills.

Layers, lowest first (a package imports only from its own layer or below):

- `errors.py`, `util/`: the error hierarchy; atomic writes, reading strangers' files, git, XDG.
- `skills/`: the skill format (SKILL.md, front matter), finding skills, scaffolding.
- `deploy/`: linking skills into agents' folders (agent table, engine, use-skills, global).
- `install/`: skills from git or a path, pinned in a lock, then linked through `deploy/`.
- `release/`: worker tarballs and their pins.
- `worker/`: the task runner (`store/`, `run/`, `review/`, `ops/`).
- `cli/`: the three console scripts; parse, call one core function, render, exit code.

Data stays at the package root: `agents.json` (the agent table), `templates/`.
"""

__version__ = "0.1.0"
