"""The worker loop with each real agent, its preset as shipped and no extra flags.

Attempt 1: the agent asks a question (`needs-input`) and stops. `worker start ID --message`
answers it; attempt 2 finds the answer in its prompt, edits a file, commits and reports
`done`: the task is `in_review` with that commit on `worker/ID`. Throughout, `main` does not
move and the main checkout stays clean (OpenCode once committed there). The prompts carry
the title, the description and the answer, and each agent sees the repo's skills in its
worktree.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from .clis import Programs, endpoint_env
from .model_server import Call, ModelServer, Request, Script, Text
from .worker_run import git, report, status, wait_exited, wait_until, worker, write_config

TITLE = "Greet the user"
DESCRIPTION = "Write the greeting the user wants into greeting.txt."
ANSWER = "Say bonjour, in lower case."
COMMIT = (
    "printf 'bonjour\\n' > greeting.txt && git add greeting.txt && git commit -qm 'Add greeting'"
)


# Where each program keeps a session: in the user's home, and in the task's private copy.
SESSION_FILES = {
    "claude": (".claude/projects", "claude-*/projects"),
    "codex": (".codex/sessions", "codex-*/sessions"),
    "opencode": (".local/share/opencode/opencode.db", "opencode-*/opencode.db"),
}


def sandboxes(repo: Path, task_id: str) -> list[str]:
    """The sandbox each attempt's agent ran in, from the store's `agent_started` events."""
    with sqlite3.connect(repo / ".git" / "worker" / "worker.db") as db:
        rows = db.execute(
            "SELECT data FROM events WHERE kind = 'agent_started' AND task_id = ? ORDER BY seq",
            (task_id,),
        ).fetchall()
    return [json.loads(data).get("sandbox", "") for (data,) in rows]


def add_repo_skill(repo: Path, store: Path) -> str:
    """A skill named in the repo's `.skills`, found through AI_SKILLS_PATH."""
    name = "house-style"
    (store / name).mkdir(parents=True)
    (store / name / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: Worktree skill marker for the agent suite.\n---\n"
        "Write short sentences.\n"
    )
    (repo / ".skills").write_text(f"{name}\n")
    git(repo, "add", ".skills")
    git(repo, "commit", "-q", "-m", "skills")
    return name


@pytest.mark.slow
@pytest.mark.parametrize("agent", ["claude", "codex", "opencode"])
def test_preset_runs_the_worker_loop_unattended(
    agent: str,
    programs: Programs,
    agent_env: dict[str, str],
    server: ModelServer,
    git_repo: Path,
    tmp_path: Path,
) -> None:
    repo = git_repo
    skill = add_repo_skill(repo, tmp_path / "skills")
    write_config(repo, f'runtime = "{agent}"\n')
    env = {**agent_env, "AI_SKILLS_PATH": str(tmp_path / "skills")}
    env |= endpoint_env(agent, server.url, env)
    main_before = git(repo, "rev-parse", "main")
    server.script = Script(
        [
            report("needs-input", "Which greeting do you want?"),
            Text("I asked which greeting; stopping until I hear back."),
            report("done", "greeting.txt says bonjour", before=COMMIT),
            Text("Committed and reported."),
        ]
    )

    worker(env, repo, "add", "t1", "--title", TITLE, "--description", DESCRIPTION)
    started = worker(env, repo, "start", "t1")
    assert "(attempt 1," in started
    asked = wait_until(env, repo, "t1", {"needs_input"})
    assert asked["attempt"] == 1
    first = server.main_requests()[0].text
    assert TITLE in first and DESCRIPTION in first
    assert skill in first, f"{agent} did not see the repo's skill in its worktree"
    assert git(repo, "rev-parse", "main") == main_before
    wait_exited(env, repo, "t1")

    assert "(attempt 2," in worker(env, repo, "start", "t1", "--message", ANSWER)
    done = wait_until(env, repo, "t1", {"in_review"}, timeout=180)

    second = [r.text for r in server.main_requests()[2:]]
    assert second and ANSWER in second[0], "the answer is in the next attempt's prompt"
    assert done["attempt"] == 2 and done["commits_ahead"] == 1
    assert git(repo, "show", "worker/t1:greeting.txt") == "bonjour"
    assert git(repo, "rev-parse", "main") == main_before, "main moved during an attempt"
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(repo, "status", "--porcelain") == "", "the main checkout was changed"
    worktree = Path(done["worktree"])
    assert ".git" not in worktree.parts
    # Both attempts ran in the sandbox; what the program wrote for itself went to the task's
    # private copy of its state folder, not to the user's own.
    assert sandboxes(repo, "t1") == ["bwrap", "bwrap"]
    home = Path(env["HOME"])
    own, private = SESSION_FILES[agent]
    assert not (home / own).exists(), f"{agent} wrote the user's own {own}"
    copies = repo / ".git" / "worker" / "homes" / "t1"
    assert any(copies.glob(private)), f"{agent} kept no session in its private copy"
    assert os.path.islink(worktree / ".claude" / "skills" / skill)
    assert git(worktree, "status", "--porcelain", "--untracked-files=all").count(skill) == 0


@pytest.mark.slow
def test_the_prompt_carries_the_review_feedback(
    programs: Programs, agent_env: dict[str, str], server: ModelServer, git_repo: Path
) -> None:
    repo = git_repo
    write_config(repo, 'runtime = "claude"\n[gates]\n')
    env = agent_env | endpoint_env("claude", server.url, agent_env)
    server.script = Script(
        [
            report("done", "first version", before=COMMIT),
            Text("Reported."),
            report("done", "second version", before="echo B >> greeting.txt && git commit -qam B"),
            Text("Reported again."),
        ]
    )
    worker(env, repo, "add", "t1", "--title", TITLE, "--description", DESCRIPTION)
    worker(env, repo, "start", "t1")
    wait_until(env, repo, "t1", {"in_review"})
    feedback = "Use a capital B in Bonjour."
    worker(env, repo, "review", "t1", "--request-changes", "--reason", feedback)
    wait_until(env, repo, "t1", {"in_review"})
    again = server.main_requests()[2].text
    assert TITLE in again and DESCRIPTION in again and feedback in again
    assert status(env, repo, "t1")["commits_ahead"] == 2


def _worktree_in_prompt(request: Request) -> str:
    found = re.search(r"Your git worktree: `([^`]+)`", request.text)
    assert found, "the prompt names the worktree"
    return found.group(1)


# The file-writing tool of each agent and its arguments (from the tools they offer).
WRITE_TOOLS = {
    "claude": lambda path: Call("Write", {"file_path": path, "content": "edited\n"}),
    "opencode": lambda path: Call("write", {"filePath": path, "content": "edited\n"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("agent", sorted(WRITE_TOOLS))
def test_the_preset_lets_the_agent_write_files_with_its_own_tool(
    agent: str, programs: Programs, agent_env: dict[str, str], server: ModelServer,
    git_repo: Path,
) -> None:
    """Not only the shell: an edit tool that asked for permission would stall the task."""
    write_config(git_repo, f'runtime = "{agent}"\n')
    env = agent_env | endpoint_env(agent, server.url, agent_env)
    server.script = Script([
        lambda request: WRITE_TOOLS[agent](_worktree_in_prompt(request) + "/notes.md"),
        report("done", "notes", before="git add notes.md && git commit -qm notes"),
        Text("Done."),
    ])
    worker(env, git_repo, "add", "t1", "--title", TITLE)
    worker(env, git_repo, "start", "t1")
    wait_until(env, git_repo, "t1", {"in_review"})
    assert git(git_repo, "show", "worker/t1:notes.md") == "edited"
