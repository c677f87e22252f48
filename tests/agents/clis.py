"""The real agent CLIs (Claude Code, Codex, OpenCode, Gemini CLI), pointed at a `ModelServer`.

Where the programs are: `AI_SKILLS_AGENT_BIN` (a folder holding `claude`, `codex`,
`opencode`, `gemini`), else the folder of `AI_SKILLS_SKILLS_CLI` (`.ci/run` installs all of
them into one npm prefix). Node 22 comes from `AI_SKILLS_NODE22_BIN` and goes first on PATH.

`endpoint_env` gives the environment (and writes the config file Codex or Gemini CLI needs)
that sends an agent's model requests to the server and nowhere else; that is all a test, a demo or a
sandbox needs to run one of these programs offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

AGENTS = ("claude", "codex", "opencode")  # the worker's runtimes
# CLIs the suite runs that are not worker runtimes: Gemini CLI (which skills it reads).
OTHER_CLIS = ("gemini",)
# The series .ci/run installs; a test fails when another one is found, so the facts in
# docs/worker.md and docs/agent-paths.md are re-checked before they are trusted.
PINNED = {"claude": "2.1.", "codex": "0.171.", "opencode": "1.18."}
OTHER_PINNED = {"gemini": "0.61."}

# Quiet, offline, no self-update: the same for every run.
QUIET_ENV = {
    "DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "NO_COLOR": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_SHARE": "1",
}


@dataclass(frozen=True)
class Programs:
    """Where the agent CLIs and Node 22 are."""

    bin_dir: Path
    node_bin: Path

    def path(self, rest: str = "") -> str:
        """PATH with Node 22 and the CLIs first."""
        tail = rest or os.environ.get("PATH", "/usr/bin:/bin")
        return os.pathsep.join([str(self.node_bin), str(self.bin_dir), tail])

    def program(self, agent: str) -> Path:
        """The absolute path of one agent's program."""
        return self.bin_dir / agent


def find_programs(
    env: Mapping[str, str] | None = None, names: tuple[str, ...] = AGENTS
) -> tuple[Programs | None, str]:
    """The programs (the worker runtimes, or `names`), or None and why they are missing."""
    env = os.environ if env is None else env
    node = env.get("AI_SKILLS_NODE22_BIN", "")
    if not node or not (Path(node) / "node").exists():
        return None, "AI_SKILLS_NODE22_BIN is not set to a folder holding Node 22"
    folder = env.get("AI_SKILLS_AGENT_BIN", "")
    if not folder and env.get("AI_SKILLS_SKILLS_CLI"):
        folder = str(Path(env["AI_SKILLS_SKILLS_CLI"]).parent)
    if not folder:
        return None, "set AI_SKILLS_AGENT_BIN (or AI_SKILLS_SKILLS_CLI) to the npm .bin folder"
    missing = [a for a in names if not (Path(folder) / a).exists()]
    if missing:
        return None, f"{folder} lacks {', '.join(missing)} (.ci/run installs them)"
    return Programs(Path(folder), Path(node)), ""


def version(programs: Programs, agent: str) -> str:
    """`AGENT --version`, first line."""
    proc = subprocess.run(
        [str(programs.program(agent)), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": programs.path(), **QUIET_ENV},
    )
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else ""


def codex_config(url: str, *, model: str = "scripted") -> str:
    """`config.toml` for Codex: one provider at `url` (Responses API), key from SCRIPTED_KEY."""
    return (
        f'model = "{model}"\n'
        'model_provider = "scripted"\n'
        "[model_providers.scripted]\n"
        'name = "scripted"\n'
        f'base_url = "{url}/v1"\n'
        'env_key = "SCRIPTED_KEY"\n'
        'wire_api = "responses"\n'
    )


def opencode_config(url: str, *, model: str = "scripted") -> str:
    """An `opencode.json` with one chat-completions provider at `url`."""
    return json.dumps(
        {
            "$schema": "https://opencode.ai/config.json",
            "model": f"scripted/{model}",
            "small_model": f"scripted/{model}",
            "autoupdate": False,
            "share": "disabled",
            "provider": {
                "scripted": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "scripted",
                    "options": {"baseURL": f"{url}/v1", "apiKey": "scripted"},
                    "models": {model: {"name": model, "tool_call": True}},
                }
            },
        }
    )


def gemini_settings(*, model: str = "scripted") -> str:
    """Gemini CLI's `settings.json`: an API key as the auth method, a fixed model, quiet.

    The key (GEMINI_API_KEY) and the server (GOOGLE_GEMINI_BASE_URL) come from the
    environment. Gemini CLI 0.61 refuses to start headless when GOOGLE_GEMINI_BASE_URL alone
    chooses the auth method ("Invalid auth method selected"), so the setting names it. A
    fixed model skips its router, which first asks another model which one to use; usage
    statistics, telemetry and update checks would each reach Google's servers.
    """
    return json.dumps(
        {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "model": {"name": model},
            "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
        },
        indent=1,
    )


def endpoint_env(agent: str, url: str, env: Mapping[str, str]) -> dict[str, str]:
    """Variables that send `agent`'s requests to `url` (Codex's config is written as a file).

    `env` is the agent's environment as it will be (HOME, CODEX_HOME, GEMINI_CLI_HOME ...),
    so the Codex or Gemini CLI config goes where that program will read it.
    """
    if agent == "claude":
        return {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "scripted"}
    if agent == "codex":
        home = Path(env.get("CODEX_HOME") or Path(env["HOME"]) / ".codex")
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(codex_config(url), encoding="utf-8")
        return {"SCRIPTED_KEY": "scripted"}
    if agent == "opencode":
        return {"OPENCODE_CONFIG_CONTENT": opencode_config(url)}
    if agent == "gemini":
        home = Path(env.get("GEMINI_CLI_HOME") or env["HOME"]) / ".gemini"
        home.mkdir(parents=True, exist_ok=True)
        (home / "settings.json").write_text(gemini_settings(), encoding="utf-8")
        return {"GOOGLE_GEMINI_BASE_URL": url, "GEMINI_API_KEY": "scripted"}
    raise ValueError(f"unknown agent {agent!r}")


# Headless runs of the CLIs that are no worker runtime; the prompt is the next argument.
# Gemini CLI: --skip-trust, or it refuses a folder nobody trusted yet (and reads a repo's
# skills only in a trusted one); yolo, as the worker presets bypass permissions, or it
# withholds its activate_skill tool from a headless run.
OTHER_HEADLESS = {"gemini": ("gemini", "--skip-trust", "--approval-mode", "yolo", "--prompt")}


def headless_argv(programs: Programs, agent: str) -> list[str]:
    """The agent run headless, as the worker presets run it (absolute program path)."""
    if agent in OTHER_HEADLESS:
        return [str(programs.program(agent)), *OTHER_HEADLESS[agent][1:]]
    from ai_skills.worker.runtimes import PRESETS

    return [str(programs.program(agent)), *PRESETS[agent][1:]]


def shared_npm_cache(root: Path) -> dict[str, str]:
    """OpenCode installs `@opencode-ai/plugin` into its config folder on every fresh HOME:
    one npm cache for the whole session keeps that to one download."""
    root.mkdir(parents=True, exist_ok=True)
    return {"npm_config_cache": str(root), "npm_config_prefer_offline": "true"}


def which(name: str, env: Mapping[str, str]) -> str | None:
    """`name` on the PATH of `env`."""
    return shutil.which(name, path=env.get("PATH"))
