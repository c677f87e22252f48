"""Runtime presets and the generic command, built without network or the agents installed."""

from __future__ import annotations

import pytest

from ai_skills.errors import UsageError
from ai_skills.worker.errors import RuntimeNotFoundError
from ai_skills.worker.runtimes import build_command, check_available


@pytest.mark.parametrize(
    ("runtime", "argv"),
    [
        (
            "claude",
            [
                "claude", "-p", "--allowedTools", "Bash", "--permission-mode", "acceptEdits",
                "--output-format", "stream-json", "--verbose",
            ],
        ),
        ("codex", ["codex", "exec", "--json", "--dangerously-bypass-approvals-and-sandbox"]),
        (
            "opencode",
            ["opencode", "run", "--format", "json", "--print-logs", "--log-level", "WARN"],
        ),
    ],
)
def test_presets_build_headless_commands(runtime: str, argv: list[str]) -> None:
    assert build_command(runtime=runtime, runtime_command=None) == argv


def test_default_runtime_is_claude() -> None:
    assert build_command(runtime=None, runtime_command=None)[0] == "claude"


def test_runtime_command_is_shell_split_and_wins_over_preset() -> None:
    got = build_command(runtime="codex", runtime_command="my-agent --flag 'two words'")
    assert got == ["my-agent", "--flag", "two words"]
    assert build_command(runtime=None, runtime_command=["a", "b c"]) == ["a", "b c"]


def test_unknown_preset_and_empty_command_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown runtime 'gpt'"):
        build_command(runtime="gpt", runtime_command=None)
    with pytest.raises(UsageError, match="empty"):
        build_command(runtime=None, runtime_command="  ")


def test_missing_program_names_it_and_the_task(tmp_path: object) -> None:
    with pytest.raises(RuntimeNotFoundError, match="'claude' not found") as info:
        check_available(["claude", "-p"], task_id="t1", path="/nonexistent")
    assert "task 't1'" in str(info.value) and info.value.exit_code == 6
    assert check_available(["sh"], task_id="t1", path="/bin:/usr/bin").endswith("/sh")
