"""Rate limits with the real agents: a refused profile hands its task to the next one, fast.

Profile `limited` talks to a server that refuses every request: HTTP 429 (rate limit), or
the provider's quota error as its API sends it. Profile `spare` talks to a server whose
script commits and reports done. With the daemon running, the task must move to `spare`
without waiting for the agent to give up: Claude Code alone would retry for about five
minutes before exiting, so the test checks that the supervisor acted on its live output.
How long each hand-over took is recorded (below), not asserted.

What each agent printed is kept in `agent-limits.jsonl` in the run's temp folder
(docs/worker.md's table was written from it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import run_folder

from .clis import Programs, endpoint_env
from .model_server import ModelServer, Quota, Script, Status, Text, Turn
from .worker_run import git, report, status, wait_until, worker, write_config

COMMIT = "echo spare > spare.txt && git add spare.txt && git commit -qm 'from the spare profile'"
# How long the test waits for the hand-over before it gives up (a hang guard, not a speed
# check: the time taken is recorded for docs/worker.md, never asserted).
WAIT_SECONDS = 90.0


def _profile(name: str, agent: str, env: dict[str, str]) -> str:
    lines = [f"[profiles.{name}]", f'runtime = "{agent}"', f"[profiles.{name}.env]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in env.items()]
    return "\n".join(lines) + "\n"


def _endpoint(agent: str, url: str, base: dict[str, str], folder: Path) -> dict[str, str]:
    """A profile's environment for one endpoint (Codex: a CODEX_HOME of its own)."""
    if agent != "codex":
        return endpoint_env(agent, url, base)
    env = {"CODEX_HOME": str(folder)}
    return env | endpoint_env(agent, url, base | env)


@pytest.mark.slow
@pytest.mark.parametrize("refusal", [Status(429), Quota()], ids=["429", "quota"])
@pytest.mark.parametrize("agent", ["claude", "codex", "opencode"])
def test_a_limited_profile_hands_the_task_to_the_next(
    agent: str,
    refusal: Turn,
    programs: Programs,
    agent_env: dict[str, str],
    git_repo: Path,
    tmp_path: Path,
    versions: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    repo = git_repo
    with ModelServer(Script([refusal], repeat_last=True)) as limited, ModelServer(
        Script([report("done", "done on spare", before=COMMIT), Text("Done.")])
    ) as spare:
        profiles = _profile(
            "limited", agent, _endpoint(agent, limited.url, agent_env, tmp_path / "codex-a")
        ) + _profile("spare", agent, _endpoint(agent, spare.url, agent_env, tmp_path / "codex-b"))
        write_config(repo, f'profile = "limited"\nfallback = ["spare"]\n{profiles}')
        main_before = git(repo, "rev-parse", "main")
        worker(agent_env, repo, "add", "t1", "--title", "Limited", "--description", "Any.")
        began = time.monotonic()
        # Started before the daemon: a daemon that is up first starts the queued task itself
        # (autostart), and `worker start` then races it.
        worker(agent_env, repo, "start", "t1")
        worker(agent_env, repo, "daemon", "start")
        try:
            moved = _wait_for_profile(agent_env, repo, "spare", began)
            seconds = time.monotonic() - began
            done = wait_until(agent_env, repo, "t1", {"in_review"}, timeout=120)
        finally:
            worker(agent_env, repo, "daemon", "stop", check=False)

    first = done["attempts"][0]
    log = Path(repo / ".git/worker/runs/t1/1/agent.log").read_text(errors="replace")
    _keep(tmp_path_factory, agent, versions[agent], refusal, seconds, first, log)
    assert moved["profile"] == "spare"
    assert (first["profile"], first["outcome"]) == ("limited", "rate_limited")
    assert done["commits_ahead"] == 1
    assert git(repo, "rev-parse", "main") == main_before
    if agent == "claude":
        # Claude Code retries for minutes: only its live `api_retry` events can be this fast.
        assert first["detail"].startswith("live output:"), first["detail"]
        assert '"subtype":"api_retry"' in log


def _wait_for_profile(env: dict[str, str], repo: Path, profile: str, began: float) -> dict:
    while time.monotonic() - began < WAIT_SECONDS:
        shown = status(env, repo, "t1")
        if shown["profile"] == profile and shown["state"] != "queued":
            return shown
        time.sleep(0.3)
    pytest.fail(f"t1 never ran on {profile!r}: {status(env, repo, 't1')}")


def _keep(
    factory: pytest.TempPathFactory,
    agent: str,
    version: str,
    refusal: Turn,
    seconds: float,
    attempt: dict,
    log: str,
) -> None:
    lines = [line for line in log.splitlines() if line.strip()]
    record = {
        "agent": agent,
        "version": version,
        "refusal": type(refusal).__name__,
        "seconds_to_fallback": round(seconds, 1),
        "exit_code": attempt["exit_code"],
        "evidence": attempt["detail"],
        "last_lines": [line[:400] for line in lines[-6:] if "\"subtype\":\"init\"" not in line],
    }
    with open(run_folder(factory) / "agent-limits.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=1)[:3000])
