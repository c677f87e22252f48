"""`worker doctor`: can each configured profile run an agent unattended, and what to fix.

Per profile (or, without profiles, the configured runtime): is the program on PATH, which
version it is, will its flags let it work headless (the facts behind the presets in
runtimes.py, checked against the real programs by tests/agents/), and is a model endpoint
with credentials set. Nothing here starts a model session; `--version` is the only run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ai_skills.worker.config import WorkerConfig
from ai_skills.worker.run.profiles import expand_env, profile_command, profile_env
from ai_skills.worker.runtimes import PRESETS, build_command

# The series the presets were checked with (docs/worker.md); others may behave differently.
TESTED = {"claude": "2.1.", "codex": "0.171.", "opencode": "1.18."}


@dataclass(frozen=True)
class Check:
    """One finding: `ok`, `warn` or `fail`, what was seen, and what to do about it."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class ProfileHealth:
    """Every check of one profile."""

    profile: str
    agent: str | None  # claude, codex, opencode, or None for another command
    command: list[str]
    version: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {**asdict(self), "ok": self.ok}


def diagnose(
    config: WorkerConfig, env: Mapping[str, str], *, repo: Path, is_root: bool
) -> list[ProfileHealth]:
    """Check every profile of `config` (or its runtime when it has none)."""
    targets: list[tuple[str, list[str], dict[str, str]]] = [
        (name, profile_command(p), expand_env(profile_env(p), dict(env)))
        for name, p in config.profiles.items()
    ]
    if not targets:
        argv = build_command(runtime=config.runtime, runtime_command=config.runtime_command)
        targets = [("(runtime)", argv, {})]
    found = [
        _diagnose_one(name, argv, {**env, **extra}, repo=repo, is_root=is_root)
        for name, argv, extra in targets
    ]
    for health, (_name, argv, extra) in zip(found, targets, strict=True):
        health.checks.append(sandbox_check(config, argv, {**env, **extra}))
    return found


def sandbox_check(config: WorkerConfig, argv: list[str], env: Mapping[str, str]) -> Check:
    """Will the agent run in bubblewrap, and which of its state folders get private copies."""
    from ai_skills.worker.run.sandbox import choose_mode, runtime_of, state_paths

    mode, why = choose_mode(config.sandbox)
    if mode == "none":
        fix = (
            'remove sandbox = "none" from .worker.toml'
            if config.sandbox == "none"
            else "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)"
        )
        return Check(
            "sandbox", "warn",
            f"none ({why}): the agent can write anywhere you can; only the role checks and "
            "containment's snapshots stand in its way", fix,
        )
    state = state_paths(runtime_of(argv), env, config.sandbox_state)
    private = ", ".join(str(real) for _spec, real in state)
    return Check(
        "sandbox", "ok",
        "bubblewrap: writes only its own clone"
        + (f"; private copies of {private}" if private else ""),
    )


def _agent_of(argv: list[str]) -> str | None:
    program = Path(argv[0]).name
    return program if program in PRESETS else None


def _diagnose_one(
    name: str, argv: list[str], env: Mapping[str, str], *, repo: Path, is_root: bool
) -> ProfileHealth:
    agent = _agent_of(argv)
    found = shutil.which(argv[0], path=env.get("PATH"))
    if found is None:
        missing = Check("program", "fail", f"{argv[0]!r} is not on PATH",
                        "install it, or put its folder on PATH before `worker start`")
        return ProfileHealth(name, agent, argv, "", [missing])
    version = program_version(found, env)
    checks = [Check("program", "ok", found)]
    checks.append(_version_check(agent, version))
    if agent is not None:
        checks += HEADLESS[agent](argv, env, is_root)
        checks.append(ENDPOINT[agent](env, repo))
    return ProfileHealth(name, agent, argv, version, checks)


def program_version(program: str, env: Mapping[str, str]) -> str:
    """First line of `PROGRAM --version`, or "" when it does not answer."""
    try:
        proc = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30,
            env=dict(env), stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else ""


def _version_check(agent: str | None, version: str) -> Check:
    if not version:
        return Check("version", "warn", "`--version` gave no answer",
                     "run the program by hand to see why")
    tested = TESTED.get(agent or "")
    if tested and tested not in version:
        return Check("version", "warn", f"{version} (the presets were checked with {tested}x)",
                     "run tests/agents/ against this version, or pin the tested one")
    return Check("version", "ok", version)


def _has(argv: list[str], *flags: str) -> bool:
    return any(a == f or a.startswith(f + "=") for a in argv for f in flags)


def _claude_headless(argv: list[str], env: Mapping[str, str], is_root: bool) -> list[Check]:
    if "-p" not in argv and "--print" not in argv:
        return [Check("headless", "fail", "no -p: Claude Code would wait for a terminal",
                      'use runtime = "claude" (the preset)')]
    bypass = _has(argv, "--dangerously-skip-permissions") or "bypassPermissions" in argv
    if bypass and is_root and not env.get("IS_SANDBOX"):
        return [Check("headless", "fail",
                      "a bypass permission mode, as root: Claude Code refuses to start",
                      "drop the bypass flag and keep the preset's --allowedTools Bash, or run "
                      "as a normal user")]
    if not bypass and not _has(argv, "--allowedTools", "--allowed-tools"):
        return [Check("headless", "fail",
                      "no tool is allowed: every Bash call (git commit, worker report) is denied",
                      "use the preset's `--allowedTools Bash --permission-mode acceptEdits`")]
    return [Check("headless", "ok", "Bash allowed, edits accepted; no prompts")]


def _codex_headless(argv: list[str], env: Mapping[str, str], is_root: bool) -> list[Check]:
    if "exec" not in argv:
        return [Check("headless", "fail", "no `exec`: Codex would start its terminal UI",
                      'use runtime = "codex" (the preset)')]
    if _has(argv, "--dangerously-bypass-approvals-and-sandbox") or "danger-full-access" in argv:
        return [Check("headless", "ok", "own sandbox off, no approvals")]
    if shutil.which("codex-linux-sandbox", path=env.get("PATH")) is None:
        return [Check("headless", "fail",
                      "Codex's own sandbox is on and codex-linux-sandbox is missing: every "
                      "shell command fails", "use the preset (it turns Codex's sandbox off)")]
    return [Check("headless", "warn", "Codex's own sandbox is on: git commits may be refused",
                  "use the preset")]


def _opencode_headless(argv: list[str], env: Mapping[str, str], is_root: bool) -> list[Check]:
    if "run" not in argv:
        return [Check("headless", "fail", "no `run`: OpenCode would start its terminal UI",
                      'use runtime = "opencode" (the preset)')]
    if not _has(argv, "--print-logs"):
        return [Check("headless", "warn",
                      "no --print-logs: a quota error is retried silently and never seen",
                      "use the preset")]
    return [Check("headless", "ok", "tools allowed by default; provider errors in the log")]


HEADLESS = {"claude": _claude_headless, "codex": _codex_headless, "opencode": _opencode_headless}


def _claude_endpoint(env: Mapping[str, str], repo: Path) -> Check:
    url = env.get("ANTHROPIC_BASE_URL", "") or "Anthropic (default)"
    if env.get("ANTHROPIC_API_KEY") or env.get("ANTHROPIC_AUTH_TOKEN"):
        return Check("endpoint", "ok", f"{url}, key from the environment")
    config = Path(env.get("CLAUDE_CONFIG_DIR") or Path(env.get("HOME", "~")) / ".claude")
    if (config / ".credentials.json").is_file():
        return Check("endpoint", "ok", f"{url}, login in {config}")
    return Check("endpoint", "fail", f"{url}, but no API key and no login",
                 "set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the profile's env, "
                 "or run `claude` once to log in")


def _codex_endpoint(env: Mapping[str, str], repo: Path) -> Check:
    home = Path(env.get("CODEX_HOME") or Path(env.get("HOME", "~")) / ".codex")
    try:
        config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        config = {}
    provider = str(config.get("model_provider", "openai"))
    entry = config.get("model_providers", {}).get(provider, {})
    url = str(entry.get("base_url", "")) or f"{provider} (default)"
    key_var = str(entry.get("env_key", ""))
    if key_var and env.get(key_var):
        return Check("endpoint", "ok", f"{url}, key from {key_var}")
    if (home / "auth.json").is_file() or env.get("OPENAI_API_KEY") or env.get("CODEX_API_KEY"):
        return Check("endpoint", "ok", f"{url}, login in {home}")
    what = f"{key_var} is not set" if key_var else "no login"
    return Check("endpoint", "fail", f"{url}, but {what}",
                 f"set {key_var or 'the key'} in the profile's env, or run `codex login` "
                 f"(CODEX_HOME={home})")


def _opencode_endpoint(env: Mapping[str, str], repo: Path) -> Check:
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME", "~")) / ".config")
    sources = [("OPENCODE_CONFIG_CONTENT", env.get("OPENCODE_CONFIG_CONTENT", ""))]
    for path in (Path(env.get("OPENCODE_CONFIG", "/nonexistent")), repo / "opencode.json",
                 xdg / "opencode" / "opencode.json", xdg / "opencode" / "opencode.jsonc"):
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except OSError:
            continue
    for where, text in sources:
        model = _json_model(text)
        if model:
            return Check("endpoint", "ok", f"model {model} from {where}")
    return Check("endpoint", "fail", "no model configured",
                 'set "model": "provider/model" in opencode.json, or OPENCODE_CONFIG_CONTENT in '
                 "the profile's env")


def _json_model(text: str) -> str:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return ""  # JSONC with comments: not worth a parser here
    return str(data.get("model", "")) if isinstance(data, dict) else ""


ENDPOINT = {"claude": _claude_endpoint, "codex": _codex_endpoint, "opencode": _opencode_endpoint}


def running_as_root() -> bool:
    """True for uid 0 (Claude Code's bypass modes refuse it)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0
