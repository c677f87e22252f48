"""Runtime profiles and fallback: config, rate-limit recognition, re-queue with backoff, e2e."""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from worker_helpers import AGENT, FAST_CONFIG, add, git, wait_for, wait_state

from ai_skills.cli.worker import main
from ai_skills.worker.config import WorkerConfig, load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ConfigError
from ai_skills.worker.ops.reconcile import reconcile
from ai_skills.worker.ops.status import task_statuses
from ai_skills.worker.ops.status_text import status_lines
from ai_skills.worker.ops.tick import tick
from ai_skills.worker.ops.watch import read_events
from ai_skills.worker.run.launch import start_task
from ai_skills.worker.run.profiles import choose, profile_command
from ai_skills.worker.run.rate_limit import RateLimitRules, backoff_delay, classify
from ai_skills.worker.run.rate_limit_fallback import retry_wait
from ai_skills.worker.runtimes import PRESETS
from ai_skills.worker.tasks import get_attempt, get_task

RULES = RateLimitRules()


def _agent(*args: str) -> str:
    return json.dumps(shlex.join([sys.executable, str(AGENT), *args]))


def write_profiles(
    repo: Path, *, backoff: float = 0.5, chain: str = 'profile = "first"\nfallback = ["second"]'
) -> None:
    """Two profiles: `first` always hits a 429, `second` does the work."""
    text = FAST_CONFIG.format(max_running=3, command=_agent("--mode", "done"))
    text += f"""{chain}

[rate_limit]
backoff_seconds = {backoff}
backoff_max_seconds = 60

[profiles.first]
command = {_agent("--mode", "rate-limit")}
env = {{ PROVIDER = "one" }}

[profiles.second]
command = {_agent()}
args = ["--mode", "done"]
model = "model-b"
env = {{ PROVIDER = "two", TOKEN = "${{WORKER_TEST_TOKEN}}" }}
"""
    (repo / ".worker.toml").write_text(text)
    git(repo, "add", ".worker.toml")
    git(repo, "commit", "-q", "-m", "profiles")


# --- configuration -----------------------------------------------------------------------


def _config_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / ".worker.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_fallback_naming_an_undefined_profile_is_a_config_error(tmp_path: Path) -> None:
    text = 'fallback = ["nope"]\n[profiles.a]\nruntime = "claude"\n'
    assert "unknown profile 'nope' (profiles: a)" in _config_error(tmp_path, text)


def test_profile_needs_exactly_one_program(tmp_path: Path) -> None:
    both = '[profiles.a]\nruntime = "claude"\ncommand = "x"\n'
    assert "exactly one of `runtime`" in _config_error(tmp_path, both)
    assert "unknown runtime 'gpt'" in _config_error(tmp_path, '[profiles.a]\nruntime = "gpt"\n')


def test_bad_rate_limit_pattern_is_a_config_error(tmp_path: Path) -> None:
    text = '[rate_limit]\npatterns = ["(unclosed"]\n'
    assert "bad regular expression '(unclosed'" in _config_error(tmp_path, text)


def test_profile_command_is_preset_then_args_then_model(tmp_path: Path) -> None:
    path = tmp_path / ".worker.toml"
    path.write_text(
        '[profiles.zai]\nruntime = "claude"\nargs = ["--max-turns", "40"]\nmodel = "glm-4.6"\n'
        '[profiles.local]\ncommand = "my-agent --fast"\nmodel = "m"\nmodel_flag = "-m"\n'
    )
    config = load_config(path)
    assert profile_command(config.profiles["zai"]) == [
        *PRESETS["claude"],
        *("--max-turns", "40", "--model", "glm-4.6"),
    ]
    assert profile_command(config.profiles["local"]) == ["my-agent", "--fast", "-m", "m"]


# --- recognising a rate limit ------------------------------------------------------------

CLAUDE_429 = json.dumps(
    {
        "type": "result",
        "subtype": "error_during_execution",
        "is_error": True,
        "result": 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error"}}',
    }
)
CODEX_429 = json.dumps(
    {"type": "turn.failed", "error": {"message": "exceeded retry limit, last status: 429"}}
)
OPENCODE_429 = json.dumps(
    {"type": "error", "error": {"name": "APIError", "data": {"statusCode": 429}}}
)


@pytest.mark.parametrize("line", [CLAUDE_429, CODEX_429, OPENCODE_429])
def test_structured_rate_limit_errors_are_recognised(line: str) -> None:
    assert classify(1, "working...\n" + line + "\n", RULES).startswith("structured output:")


@pytest.mark.parametrize(
    "tail",
    [
        # The model talking about rate limits is not a rate limit.
        json.dumps({"type": "assistant", "message": {"content": "added rate_limit_error 429"}}),
        # A run that retried after a 429 and then succeeded.
        CLAUDE_429 + "\n" + json.dumps({"type": "result", "is_error": False, "result": "ok"}),
        # An informational notice that the quota is still fine.
        json.dumps({"type": "rate_limit_event", "rate_limit_info": {"status": "allowed"}}),
        "tests failed: 3 errors",
    ],
)
def test_other_endings_are_not_rate_limits(tail: str) -> None:
    assert classify(1, tail, RULES) == ""


def test_configured_exit_codes_and_patterns_count() -> None:
    rules = RateLimitRules(exit_codes=[75], patterns=[r"quota of \w+ used up"])
    assert classify(75, "", rules) == "exit code 75 is configured as rate-limited"
    assert "matches" in classify(0, "the quota of today used up\n", rules)
    assert classify(2, "", rules) == ""


def test_plain_text_on_stderr_counts_only_for_a_failed_exit() -> None:
    line = "Error: 429 Too Many Requests\n"
    assert classify(1, line, RULES) == "output says: Error: 429 Too Many Requests"
    assert classify(0, line, RULES) == ""


def test_backoff_doubles_per_round_of_profiles_up_to_the_cap() -> None:
    rules = RateLimitRules(backoff_seconds=10, backoff_max_seconds=50)
    assert [backoff_delay(n, rules, chain_length=2) for n in range(1, 8)] == [
        10,
        10,
        20,
        20,
        40,
        40,
        50,
    ]
    assert [backoff_delay(n, rules, chain_length=0) for n in (1, 2, 3)] == [10, 20, 40]


# --- choosing a profile ------------------------------------------------------------------


def test_task_chain_wins_over_the_global_one_and_start_flags_win_over_both(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_profiles(worker_repo)
    config = load_config(ctx.config_path)
    add(conn, "global")
    add(conn, "own", profile="second", fallback=["first"])
    add(conn, "runtime", runtime_command=["my-agent"])
    assert choose(conn, get_task(conn, "global"), config).runtime.chain == ["first", "second"]
    own = choose(conn, get_task(conn, "own"), config)
    assert (own.runtime.profile, own.runtime.chain) == ("second", ["second", "first"])
    assert own.argv is not None and own.argv[-2:] == ["--model", "model-b"]
    assert choose(conn, get_task(conn, "runtime"), config).argv is None
    explicit = choose(conn, get_task(conn, "own"), config, explicit=True)
    assert explicit.argv is None and explicit.runtime.profile is None


def test_add_refuses_an_unknown_profile(
    worker_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(worker_repo)
    monkeypatch.chdir(worker_repo)
    assert main(["add", "t1", "--title", "x", "--fallback", "second,nope"]) == 2
    assert "unknown profile 'nope' (profiles: first, second)" in capsys.readouterr().err
    assert main(["add", "t1", "--title", "x", "--profile", "second", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "t1"


def test_profiles_lists_the_chain_first_and_hides_env_values(
    worker_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profiles(worker_repo)
    monkeypatch.chdir(worker_repo)
    assert main(["profiles", "--json"]) == 0
    views = json.loads(capsys.readouterr().out)
    assert [(v["name"], v["order"], v["env"]) for v in views] == [
        ("first", 0, ["PROVIDER"]),
        ("second", 1, ["PROVIDER", "TOKEN"]),
    ]
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert " 2 second " in out and "env PROVIDER, TOKEN" in out and "WORKER_TEST" not in out


# --- end to end --------------------------------------------------------------------------


def _tick_until_started(ctx: RepoContext, conn: sqlite3.Connection, config: WorkerConfig) -> None:
    started: list[str] = []

    def once() -> bool:
        started.extend(r.task_id for r in tick(ctx, conn, config).started)
        return bool(started)

    wait_for(once, timeout=30, what="tick to start the task again")


@pytest.mark.slow
def test_rate_limited_profile_falls_back_to_the_next_one_via_tick(
    worker_repo: Path,
    ctx: RepoContext,
    conn: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WORKER_TEST_TOKEN", "secret-two")
    write_profiles(worker_repo, backoff=1.0)
    config = load_config(ctx.config_path)
    add(conn, "t1")
    first = start_task(ctx, conn, config, "t1")
    assert first.admitted
    wait_state(conn, "t1", "queued")
    task = get_task(conn, "t1")
    assert task.reason.startswith("rate limited on profile 'first' (structured output:")
    assert "next: profile 'second', now" in task.reason
    # A limit on the first profile says nothing about the second: no wait before it.
    assert retry_wait(conn, "t1", now=time.time()) == ""
    _tick_until_started(ctx, conn, config)
    wait_state(conn, "t1", "in_review")

    monkeypatch.chdir(worker_repo)
    assert main(["status", "t1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["profile"] == "second"
    assert [a["profile"] for a in shown["attempts"]] == ["first", "second"]
    (row,) = task_statuses(ctx, conn, "t1")
    assert row.profile == "second"
    assert [(a["profile"], a["outcome"]) for a in row.attempts] == [
        ("first", "rate_limited"),
        ("second", None),
    ]
    lines = status_lines([row], detailed=True)
    assert any("attempt 1 [profile first]: exit 1, rate_limited" in line for line in lines)
    assert any("attempt 2 [profile second]" in line for line in lines)
    limited = [e for e in read_events(conn, task_id="t1") if e.kind == "rate_limited"]
    assert [(e.data["profile"], e.data["next_profile"]) for e in limited] == [("first", "second")]
    second = get_attempt(conn, get_task(conn, "t1").current_attempt)
    assert second is not None
    log = Path(second.log_file).read_text()
    assert "WORKER_PROFILE=second WORKER_MODEL=model-b PROVIDER=two TOKEN=secret-two" in log
    assert "--model=model-b" in log


@pytest.mark.slow
def test_exhausted_profiles_wait_queued_with_the_retry_time_and_never_fail(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    write_profiles(worker_repo, backoff=300, chain='profile = "first"')
    config = load_config(ctx.config_path)
    add(conn, "t1")
    started = start_task(ctx, conn, config, "t1")
    first_attempt = get_attempt(conn, started.attempt_id)
    assert first_attempt is not None
    wait_state(conn, "t1", "queued")
    task = get_task(conn, "t1")
    assert "no other profile to try; retry on 'first' at" in task.reason
    assert task.state.value == "queued" and task.start_requested
    assert retry_wait(conn, "t1", now=time.time()).startswith("rate limited: next retry at")
    assert retry_wait(conn, "t1", now=time.time()).endswith(" on profile 'first'")
    waiting = tick(ctx, conn, config)
    assert waiting.started == [] and waiting.waiting[0].task_id == "t1"
    assert get_task(conn, "t1").waiting_reason.startswith("rate limited: next retry at")
    assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
    wait_for(lambda: (get_attempt(conn, 1) or first_attempt).ended_at is not None)
    assert [f.kind for f in reconcile(ctx, conn, config, fix=False)] == []
    # The retry time passes: the next pass starts it again on the first profile.
    assert retry_wait(conn, "t1", now=time.time() + 301) == ""


def test_the_profiles_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    docs = Path(__file__).parents[2] / "docs" / "worker.md"
    section = docs.read_text().split("## Runtime profiles and fallback", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / ".worker.toml"
    path.write_text(example)
    config = load_config(path)
    assert [config.profile, *config.fallback] == ["claude-main", "claude-second", "codex"]
    env = config.profiles["claude-second"].env
    assert env["ANTHROPIC_AUTH_TOKEN"] == "${SECOND_PROVIDER_TOKEN}"


@pytest.mark.slow
def test_the_daemon_moves_a_rate_limited_task_to_the_next_profile_unattended(
    worker_repo: Path, ctx: RepoContext, conn: sqlite3.Connection
) -> None:
    from ai_skills.worker.ops.daemon import start_daemon, stop_daemon

    write_profiles(worker_repo, backoff=0.3)
    add(conn, "t1", priority=0)
    start_task(ctx, conn, load_config(ctx.config_path), "t1")
    assert start_daemon(ctx).running
    try:
        wait_state(conn, "t1", "in_review", timeout=60)
    finally:
        stop_daemon(ctx, grace=5)
    (row,) = task_statuses(ctx, conn, "t1", with_git=False)
    assert [(a["profile"], a["outcome"]) for a in row.attempts] == [
        ("first", "rate_limited"),
        ("second", None),
    ]
