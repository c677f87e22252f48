"""`worker doctor` against the real programs: found, their versions, presets fine, endpoints."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .clis import PINNED, Programs, codex_config, opencode_config
from .worker_run import WORKER, write_config


@pytest.mark.slow
def test_doctor_passes_each_preset_pointed_at_an_endpoint(
    programs: Programs, agent_env: dict[str, str], git_repo: Path, tmp_path: Path
) -> None:
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(codex_config("http://127.0.0.1:9"))
    env = {"ANTHROPIC_API_KEY": "k", "CODEX_HOME": str(codex_home), "SCRIPTED_KEY": "k",
           "OPENCODE_CONFIG_CONTENT": opencode_config("http://127.0.0.1:9")}
    profiles = "".join(
        f'[profiles.{agent}]\nruntime = "{agent}"\n[profiles.{agent}.env]\n'
        f"{key} = {json.dumps(env[key])}\n"
        for agent, key in (("claude", "ANTHROPIC_API_KEY"), ("codex", "SCRIPTED_KEY"),
                           ("opencode", "OPENCODE_CONFIG_CONTENT"))
    )
    write_config(git_repo, profiles)
    run_env = {**agent_env, "CODEX_HOME": str(codex_home)}
    proc = subprocess.run([WORKER, "doctor", "--json"], cwd=git_repo, env=run_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {h["profile"]: h for h in json.loads(proc.stdout)}
    for agent in ("claude", "codex", "opencode"):
        health = found[agent]
        assert health["ok"] and PINNED[agent] in health["version"], health
        checks = {c["name"]: c for c in health["checks"]}
        assert [c["status"] for c in health["checks"]] == ["ok"] * 5, health["checks"]
        # It runs sandboxed, with its own state folders as private copies.
        assert checks["sandbox"]["detail"].startswith("bubblewrap: writes only its own clone")

    # Without the endpoint settings, each profile fails and says what to set.
    write_config(git_repo, "\n".join(f'[profiles.{a}]\nruntime = "{a}"' for a in PINNED) + "\n")
    bare = {k: v for k, v in run_env.items() if k != "CODEX_HOME"}
    proc = subprocess.run([WORKER, "doctor"], cwd=git_repo, env=bare,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 6
    assert "fix: set ANTHROPIC_API_KEY" in proc.stdout and "codex login" in proc.stdout
    assert 'set "model"' in proc.stdout
