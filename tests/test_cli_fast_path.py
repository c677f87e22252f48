"""The fast path of `ai-skills add/install` (cli/entry.py) and the typer commands
(cli/add.py) read every command line the same way: same options, same call, and a line the
fast path must not take (a mistake, --help) left to typer."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ai_skills.cli import add as typer_commands
from ai_skills.cli import add_run, entry
from ai_skills.cli.main import app

Outcome = tuple[tuple[str, dict[str, Any]] | None, int, str]


def recorder(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[tuple[str, dict[str, Any]]]:
    """Replace `do_add`/`do_install` in `module` by stubs that record their arguments."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def do_add(source: str, **kwargs: Any) -> int:
        calls.append(("add", {"source": source, **kwargs, "skills": list(kwargs["skills"])}))
        return 0

    def do_install(**kwargs: Any) -> int:
        calls.append(("install", kwargs))
        return 0

    monkeypatch.setattr(module, "do_add", do_add)
    monkeypatch.setattr(module, "do_install", do_install)
    return calls


def via_typer(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Outcome:
    calls = recorder(monkeypatch, typer_commands)
    result = CliRunner().invoke(app, argv)
    lines = result.output.strip().splitlines()
    return (calls[0] if calls else None), result.exit_code, lines[-1] if lines else ""


def via_entry(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Outcome:
    """What `ai-skills ARGV` does: the fast path when it takes the line, else typer."""
    calls = recorder(monkeypatch, add_run)
    command = entry.fast_command(argv)
    if command is None:
        return via_typer(monkeypatch, argv)
    code = command()
    return (calls[0] if calls else None), code, ""


def typer_options(name: str) -> tuple[set[str], int]:
    """The option strings and the number of positional arguments of typer's `name`."""
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    options = {o for p in command.params if p.param_type_name == "option"
               for o in [*p.opts, *p.secondary_opts]} - {"--help"}  # fmt: skip
    return options, sum(p.param_type_name == "argument" for p in command.params)


def fast_options(name: str) -> tuple[set[str], int]:
    """The same, for the fast path's option table."""
    return set(entry.OPTIONS[name]), entry.POSITIONALS[name]


@pytest.mark.parametrize("name", ["add", "install"])
def test_both_parsers_know_the_same_options(name: str) -> None:
    assert fast_options(name) == typer_options(name)


PLAIN = [
    ["add", "https://forge.invalid/skills.git"],
    ["add", "owner/repo", "-s", "a", "--skill", "b", "--ref", "v1", "--agents", "claude,codex",
     "-g", "-y", "--force", "--json"],
    ["add", "--all", "./skills", "--global", "--yes"],
    ["add", "--skill=a", "--ref=main", "src"],
    ["add", "-sa", "-gy", "src"],
    ["add", "-ygs", "a", "src"],
    ["add", "-"],
    ["add", "--", "--json"],
    ["add"],
    ["add", "--agents", "claude", "--json"],
    ["install"],
    ["install", "-g", "--agents", "codex", "--json"],
    ["install", "--agents=claude,opencode"],
]

NOT_FOR_THE_FAST_PATH = [
    ["add", "src", "--bogus"],
    ["add", "src", "other"],
    ["add", "src", "--ref"],
    ["add", "src", "--skill"],
    ["add", "src", "--all=yes"],
    ["add", "src", "--agent", "claude"],
    ["add", "src", "--js"],
    ["add", "--help"],
    ["add", "src", "-h"],
    ["install", "src"],
    ["install", "--global=1"],
    ["install", "--force"],
    ["install", "-s", "a"],
    ["add", "-gq", "src"],
]

# Lines typer reads in its own way (a value that looks like an option, `-s=a`): the fast
# path leaves them to it rather than guess.
LEFT_TO_TYPER = [
    ["add", "src", "--skill", "-x"],
    ["add", "src", "-s=a"],
    ["add", "src", "--ref", "--json"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_a_plain_line_takes_the_fast_path_to_the_call_typer_makes(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    assert entry.fast_command(argv) is not None
    fast = via_entry(monkeypatch, argv)
    assert fast[0] is not None and fast[1] == 0
    assert fast == via_typer(monkeypatch, argv)


@pytest.mark.parametrize("argv", NOT_FOR_THE_FAST_PATH, ids=" ".join)
def test_a_mistake_or_help_is_left_to_typer(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    assert entry.fast_command(argv) is None
    call, code, message = via_entry(monkeypatch, argv)
    assert call is None
    if "--help" in argv:
        assert code == 0 and message
    else:
        assert code == 2 and "Error" in message, message


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_a_line_typer_may_read_otherwise_is_left_to_it(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    assert entry.fast_command(argv) is None
    assert via_entry(monkeypatch, argv) == via_typer(monkeypatch, argv)


def test_the_add_path_loads_none_of_the_slow_modules() -> None:
    """What a plain `add` loads (the fast path, then the install side while git fetches)
    stays off typer, argparse, dataclasses (and `inspect` behind them), shutil and tempfile:
    each costs milliseconds of an `add` that races `npx skills` (benchmarks/add_bench.py)."""
    import subprocess
    import sys

    code = ("import sys\nfrom ai_skills.cli import entry\n"
            "assert entry.fast_command(['add', 'o/r', '-s', 'a', '-y'])\n"
            "import ai_skills.install.add\n"
            "slow = {'typer', 'argparse', 'dataclasses', 'inspect', 'shutil', 'tempfile'}\n"
            "print(sorted(slow & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
