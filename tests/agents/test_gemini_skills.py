"""Gemini CLI as a user meets it: skills ai-skills links for `gemini-cli` reach the model, and
a repo's skills only once the folder is trusted.

`ai-skills add ... --agents gemini-cli` (a repo) and `ai-skills deploy --global --agents
gemini-cli` (the user) link a skill; the real Gemini CLI lists it to the scripted model and,
when the model calls `activate_skill`, sends the skill's body. Gemini CLI 0.61 also has a
folder-trust gate, on unless a setting turns it off: in a folder nobody trusted, it reads
the user's skills and not the repo's (`gemini skills list` shows it without a model), and
it reads the skills of the folder it starts in, not of the repo root above it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_skill
from tests.source_repos import make_source, url_of

from .clis import Programs, endpoint_env, headless_argv
from .model_server import Call, ModelServer, Script, Text

AI_SKILLS = shutil.which("ai-skills", path=str(Path(sys.executable).parent))
SKILL = "greet-in-french"
BODY = "Answer Bonjour and nothing else (marker 7731)."


def _ai_skills(cwd: Path, env: dict[str, str], *args: str) -> str:
    assert AI_SKILLS is not None
    proc = subprocess.run([AI_SKILLS, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stderr + proc.stdout


def _available_skills(text: str) -> str:
    start, end = text.find("<available_skills>"), text.find("</available_skills>")
    return text[start:end] if 0 <= start < end else ""


def _gemini_activates_the_skill(programs: Programs, env: dict[str, str], server: ModelServer,
                                cwd: Path) -> None:
    server.script = Script([Call("activate_skill", {"name": SKILL}), Text("Bonjour")])
    env = env | endpoint_env("gemini", server.url, env)
    proc = subprocess.run([*headless_argv(programs, "gemini"), "Greet me in French."],
                          cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    first, *rest = server.main_requests("gemini")
    assert f"<name>{SKILL}</name>" in _available_skills(first.text)
    assert BODY not in first.text, "only the name and description before activation"
    assert rest and BODY in rest[0].text, "activate_skill sent the skill's body"


@pytest.mark.slow
def test_a_skill_added_for_gemini_cli_in_a_repo_is_one_gemini_activates(
    programs: Programs, agent_env: dict[str, str], server: ModelServer, git_repo: Path,
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    make_source(source, [])
    make_skill(source / "skills", SKILL, "Use when the user wants a greeting in French.",
               body=BODY + "\n")
    subprocess.run(["git", "add", "-A"], cwd=source, check=True)
    subprocess.run(["git", "commit", "-qm", "skill"], cwd=source, check=True)

    _ai_skills(git_repo, agent_env, "add", url_of(source), "-s", SKILL, "--agents", "gemini-cli")

    assert (git_repo / ".agents/skills" / SKILL).is_symlink()
    _gemini_activates_the_skill(programs, agent_env, server, git_repo)


@pytest.mark.slow
@pytest.mark.parametrize("moved", [False, True], ids=["home", "GEMINI_CLI_HOME"])
def test_a_skill_deployed_globally_for_gemini_cli_is_one_gemini_activates(
    moved: bool, programs: Programs, agent_env: dict[str, str], server: ModelServer,
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "catalog"
    make_skill(catalog, SKILL, "Use when the user wants a greeting in French.",
               body=BODY + "\n")
    env = agent_env | {"AI_SKILLS_PATH": str(catalog)}
    gemini_home = Path(env["HOME"])
    if moved:
        gemini_home = tmp_path / "gemini-home"
        env["GEMINI_CLI_HOME"] = str(gemini_home)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    _ai_skills(elsewhere, env, "deploy", "--global", "--skill", SKILL, "--agents", "gemini-cli")

    assert (gemini_home / ".gemini/skills" / SKILL).is_symlink()
    _gemini_activates_the_skill(programs, env, server, elsewhere)


@pytest.mark.slow
def test_gemini_reads_a_repos_skills_only_once_the_folder_is_trusted(
    programs: Programs, agent_env: dict[str, str], server: ModelServer, git_repo: Path,
) -> None:
    home = Path(agent_env["HOME"])
    make_skill(home / ".gemini/skills", "mine-everywhere")
    make_skill(git_repo / ".agents/skills", "this-repos-own")
    env = agent_env | endpoint_env("gemini", server.url, agent_env)

    def listed(cwd: Path = git_repo) -> str:
        cwd.mkdir(exist_ok=True)
        proc = subprocess.run([str(programs.program("gemini")), "skills", "list"],
                              cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        return proc.stdout

    untrusted = listed()
    assert "mine-everywhere" in untrusted and "this-repos-own" not in untrusted, untrusted
    # What its trust dialog writes when the user picks "Trust folder".
    (home / ".gemini/trustedFolders.json").write_text(
        json.dumps({str(git_repo): "TRUST_FOLDER"}))
    trusted = listed()
    assert "mine-everywhere" in trusted and "this-repos-own" in trusted, trusted
    # Only the folder it starts in counts: not the repo root above it (unlike Codex).
    below = listed(git_repo / "src")
    assert "mine-everywhere" in below and "this-repos-own" not in below, below
